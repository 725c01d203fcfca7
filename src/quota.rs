//! Auth0's M2M quota headers (`Auth0-Client-Quota-Limit`,
//! `Auth0-Organization-Quota-Limit`), read from token answers so operators
//! can see how much of the tenant's token quota is left.
//!
//! The header is server text and not trusted: a bucket that does not parse
//! cleanly is left out, never reported as NaN, and never fails a call.

use serde::{Deserialize, Serialize};

pub const CLIENT_HEADER: &str = "auth0-client-quota-limit";
pub const ORGANIZATION_HEADER: &str = "auth0-organization-quota-limit";
/// Longer headers are not Auth0's and are ignored whole.
const MAX_HEADER_LEN: usize = 1024;
/// Numbers above this are not exact in JavaScript.
const MAX_NUMBER: u64 = (1 << 53) - 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    pub quota: u64,
    pub remaining: u64,
    /// Seconds until the bucket resets.
    pub reset_after: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buckets {
    pub per_hour: Option<Bucket>,
    pub per_day: Option<Bucket>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    pub client: Option<Buckets>,
    pub organization: Option<Buckets>,
}

impl Buckets {
    fn is_empty(&self) -> bool {
        self.per_hour.is_none() && self.per_day.is_none()
    }
}

/// The quota in a response's headers, if any bucket in them parses.
pub fn from_headers(headers: &reqwest::header::HeaderMap) -> Option<Quota> {
    let read = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_buckets)
    };
    let quota = Quota {
        client: read(CLIENT_HEADER),
        organization: read(ORGANIZATION_HEADER),
    };
    (quota.client.is_some() || quota.organization.is_some()).then_some(quota)
}

/// `b=per_hour;q=10;r=7;t=3540,b=per_day;q=50;r=47;t=43200`. The first
/// well-formed bucket of each kind wins; anything else is skipped.
pub fn parse_buckets(header: &str) -> Option<Buckets> {
    if header.len() > MAX_HEADER_LEN {
        return None;
    }
    let mut buckets = Buckets::default();
    for part in header.split(',') {
        let Some((kind, bucket)) = parse_bucket(part) else {
            continue;
        };
        let slot = match kind {
            "per_hour" => &mut buckets.per_hour,
            "per_day" => &mut buckets.per_day,
            _ => continue,
        };
        slot.get_or_insert(bucket);
    }
    (!buckets.is_empty()).then_some(buckets)
}

fn parse_bucket(part: &str) -> Option<(&str, Bucket)> {
    let (mut kind, mut quota, mut remaining, mut reset_after) = (None, None, None, None);
    for field in part.split(';') {
        let (name, value) = field.trim().split_once('=')?;
        let slot = match name.trim() {
            "b" => {
                kind = Some(value.trim());
                continue;
            }
            "q" => &mut quota,
            "r" => &mut remaining,
            "t" => &mut reset_after,
            _ => continue,
        };
        if slot.is_some() {
            return None; // a field twice: ambiguous, so not trusted
        }
        *slot = Some(number(value)?);
    }
    Some((
        kind?,
        Bucket {
            quota: quota?,
            remaining: remaining?,
            reset_after: reset_after?,
        },
    ))
}

fn number(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u64>().ok().filter(|n| *n <= MAX_NUMBER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth0_header_gives_both_buckets() {
        let b = parse_buckets("b=per_hour;q=10;r=7;t=3540,b=per_day;q=50;r=47;t=43200").unwrap();
        assert_eq!(
            b.per_hour,
            Some(Bucket {
                quota: 10,
                remaining: 7,
                reset_after: 3540
            })
        );
        assert_eq!(b.per_day.unwrap().remaining, 47);
    }

    #[test]
    fn malformed_buckets_are_left_out() {
        assert_eq!(parse_buckets("b=per_hour;q=10;r=-1;t=5"), None);
        assert_eq!(parse_buckets("b=per_hour;q=NaN;r=1;t=5"), None);
        assert_eq!(parse_buckets("b=per_hour;q=1;r=1"), None);
        assert_eq!(parse_buckets("b=per_week;q=1;r=1;t=1"), None);
        assert_eq!(
            parse_buckets("b=per_hour;q=99999999999999999999;r=1;t=1"),
            None
        );
        assert_eq!(parse_buckets("garbage"), None);
        let b = parse_buckets("b=per_hour;q=1;q=2;r=1;t=1,b=per_day;q=5;r=4;t=3").unwrap();
        assert_eq!(b.per_hour, None);
        assert_eq!(b.per_day.unwrap().quota, 5);
    }
}
