//! The load-shedding gate in front of the verify API: in-flight limits in all, per checkpoint and
//! per session token; a check over a limit is answered 503 before anything else is done.

use super::*;

#[derive(Serialize)]
pub(super) struct OverloadBody {
    error: &'static str,
    message: &'static str,
}

/// The answer to a check shed by [`VerifyGate`]: cheap, fixed, and the same for every limit.
fn overloaded() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "1")],
        Json(OverloadBody {
            error: "overloaded",
            message: "查验请求过多，请1秒后重试",
        }),
    )
        .into_response()
}

/// Limits on checks in progress at once: in all, per checkpoint, and per session token (a bearer
/// token or the session cookie). A check that would pass any limit is refused at once; nothing
/// waits in a queue. Keys are hashed with a per-process random key, so no token is kept.
#[derive(Debug)]
pub struct VerifyGate {
    pub(super) total_limit: usize,
    pub(super) checkpoint_limit: usize,
    pub(super) client_limit: usize,
    pub(super) hasher: std::collections::hash_map::RandomState,
    pub(super) in_flight: std::sync::Mutex<GateCounts>,
}

#[derive(Debug, Default)]
pub(super) struct GateCounts {
    total: usize,
    by_key: std::collections::HashMap<u64, usize>,
}

/// A check admitted by [`VerifyGate`]; its place is given back when this is dropped.
#[derive(Debug)]
pub struct GatePass {
    gate: Arc<VerifyGate>,
    keys: [u64; 2],
}

impl VerifyGate {
    pub fn new(total_limit: usize, checkpoint_limit: usize, client_limit: usize) -> VerifyGate {
        VerifyGate {
            total_limit: total_limit.max(1),
            checkpoint_limit: checkpoint_limit.max(1),
            client_limit: client_limit.max(1),
            hasher: Default::default(),
            in_flight: Default::default(),
        }
    }

    pub(super) fn key(&self, kind: u8, text: &str) -> u64 {
        let mut hasher = self.hasher.build_hasher();
        hasher.write_u8(kind);
        hasher.write(text.as_bytes());
        hasher.finish()
    }

    /// Admits one check at `checkpoint` by `client` (its token), or `None` when a limit is full.
    pub fn try_enter(self: &Arc<Self>, checkpoint: &str, client: &str) -> Option<GatePass> {
        let keys = [self.key(0, checkpoint), self.key(1, client)];
        let mut counts = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let at_checkpoint = counts.by_key.get(&keys[0]).copied().unwrap_or(0);
        let of_client = counts.by_key.get(&keys[1]).copied().unwrap_or(0);
        if counts.total >= self.total_limit
            || at_checkpoint >= self.checkpoint_limit
            || of_client >= self.client_limit
        {
            return None;
        }
        counts.total += 1;
        for key in keys {
            *counts.by_key.entry(key).or_insert(0) += 1;
        }
        Some(GatePass {
            gate: self.clone(),
            keys,
        })
    }

    /// Checks in progress now.
    #[cfg(test)]
    pub(super) fn in_flight(&self) -> usize {
        self.in_flight.lock().map(|c| c.total).unwrap_or(0)
    }
}

impl Drop for GatePass {
    fn drop(&mut self) {
        let mut counts = self
            .gate
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        counts.total = counts.total.saturating_sub(1);
        for key in self.keys {
            if let std::collections::hash_map::Entry::Occupied(mut e) = counts.by_key.entry(key) {
                if *e.get() <= 1 {
                    e.remove();
                } else {
                    *e.get_mut() -= 1;
                }
            }
        }
    }
}

/// The session token a request carries (bearer or cookie), as text; empty when none.
fn client_token(headers: &HeaderMap) -> &str {
    if let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return token.trim();
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix("fk_session="))
        .unwrap_or("")
}

/// In front of `POST /api/checkpoints/{id}/verify`: admitted checks run with a [`GatePass`],
/// the rest get [`overloaded`] before the body, the session or the database.
pub(super) async fn verify_gate(
    State(gate): State<Arc<VerifyGate>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path();
    let checkpoint = path.rsplit('/').nth(1).unwrap_or_default().to_string();
    let Some(pass) = gate.try_enter(&checkpoint, client_token(request.headers())) else {
        return overloaded();
    };
    let response = next.run(request).await;
    drop(pass);
    response
}

#[cfg(test)]
mod gate_tests {
    use super::*;

    #[test]
    fn each_limit_sheds_only_its_own_checks_and_a_finished_check_frees_its_place() {
        let gate = Arc::new(VerifyGate::new(3, 2, 1));
        let a = gate.try_enter("1", "token-a").expect("first");
        assert!(
            gate.try_enter("1", "token-a").is_none(),
            "one at a time per device"
        );
        let b = gate.try_enter("1", "token-b").expect("another device");
        assert!(
            gate.try_enter("1", "token-c").is_none(),
            "checkpoint 1 is full"
        );
        let c = gate.try_enter("2", "token-c").expect("another checkpoint");
        assert!(gate.try_enter("3", "token-d").is_none(), "three in all");
        assert_eq!(gate.in_flight(), 3);
        drop(a);
        let a = gate
            .try_enter("1", "token-a")
            .expect("the device's place is free again");
        drop((a, b, c));
        assert_eq!(gate.in_flight(), 0);
        assert!(
            gate.in_flight.lock().unwrap().by_key.is_empty(),
            "no key left behind"
        );
    }

    #[test]
    fn the_token_comes_from_the_bearer_header_or_the_session_cookie() {
        let mut headers = HeaderMap::new();
        assert_eq!(client_token(&headers), "");
        headers.insert(header::COOKIE, "theme=x; fk_session=abc".parse().unwrap());
        assert_eq!(client_token(&headers), "abc");
        headers.insert(header::AUTHORIZATION, "Bearer xyz".parse().unwrap());
        assert_eq!(client_token(&headers), "xyz");
    }
}
