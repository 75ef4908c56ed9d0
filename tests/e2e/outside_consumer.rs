//! Another department's consumer: it holds `proto/` and nothing else of Tongxin. It reads
//! every event the stream holds, finds each body's message type in the event's own
//! `content-type` header, decodes it, and checks that no personal data travelled.

use std::collections::BTreeSet;

use crate::platform::Platform;

/// Reads the whole TONGXIN stream and returns the subjects seen. Panics when an event
/// does not name its type, does not decode as that type, or carries any of `secrets`
/// (names, phones, ID numbers, a citizen's own words) in its body, raw or decoded.
pub async fn decode_every_event(platform: &Platform, secrets: &[&str]) -> BTreeSet<String> {
    let js = async_nats::jetstream::new(platform.nats.client().await);
    let mut stream = js.get_stream("TONGXIN").await.expect("the TONGXIN stream");
    let state = stream.info().await.expect("stream info").state.clone();
    let mut subjects = BTreeSet::new();
    for seq in state.first_sequence..=state.last_sequence {
        let message = stream.get_raw_message(seq).await.expect("message");
        let subject = message.subject.to_string();
        let content_type = message
            .headers
            .get("content-type")
            .map(|v| v.as_str().to_owned())
            .unwrap_or_else(|| panic!("{subject} (seq {seq}) has no content-type header"));
        let name = content_type
            .strip_prefix("application/protobuf; proto=")
            .unwrap_or_else(|| panic!("{subject}: content-type {content_type:?} names no message"));
        let descriptor = tongxin_proto::descriptor_pool()
            .get_message_by_name(name)
            .unwrap_or_else(|| panic!("{subject}: {name} is not in proto/"));
        let body = prost_reflect::DynamicMessage::decode(descriptor, message.payload.clone())
            .unwrap_or_else(|e| panic!("{subject}: not a {name}: {e}"));
        let json = serde_json::to_string(&body).expect("json");
        let raw = String::from_utf8_lossy(&message.payload);
        for secret in secrets {
            assert!(
                !json.contains(secret) && !raw.contains(secret),
                "{subject} carries personal data ({secret:?}): {json}"
            );
        }
        subjects.insert(subject);
    }
    subjects
}
