//! The napi layer: JavaScript calls these, and they call the core. Nothing
//! here decides policy; it converts values and hands results back.

mod client;
mod convert;
mod dpop;
mod process_cache;
mod thread_slot;
