'use strict';

// The m2m-token:fetch:end messages of one client id, on this thread: the
// signal that a request (a background refresh too) has landed.

const diagnostics = require('node:diagnostics_channel');

const END = 'm2m-token:fetch:end';

/** An array that collects `clientId`'s fetch:end messages until its stop(). */
function fetchEnds(clientId) {
  const ends = [];
  const onEnd = (message) => { if (message.clientId === clientId) ends.push(message); };
  diagnostics.subscribe(END, onEnd);
  ends.stop = () => diagnostics.unsubscribe(END, onEnd);
  return ends;
}

module.exports = { fetchEnds };
