//! The TONGXIN stream as configured, and the headers an outside consumer decodes by.

use std::time::Duration;

use prost::Message;
use tongxin_platform::config::EventsSettings;
use tongxin_platform::events::nats::NatsBus;
use tongxin_platform::events::{Event, EventBus, headers};
use tongxin_proto::catalog::message_of_content_type;
use tongxin_proto::events as pb;
use tongxin_testing::TestNats;
use uuid::Uuid;

use crate::events_settings;

async fn stream_config(nats: &TestNats) -> async_nats::jetstream::stream::Config {
    let js = async_nats::jetstream::new(nats.client().await);
    let mut stream = js.get_stream("TONGXIN").await.expect("stream");
    stream.info().await.expect("info").config.clone()
}

#[tokio::test]
async fn the_stream_keeps_what_the_configuration_says_and_follows_a_change() {
    let nats = TestNats::start().await;
    let _bus = crate::nats_bus(&nats).await;
    let config = stream_config(&nats).await;
    assert_eq!(
        config.max_age,
        Duration::from_secs(30 * 24 * 3600),
        "default 30 days"
    );
    assert_eq!(config.max_bytes, -1, "no size limit by default");

    // A new version starting with other limits brings the existing stream in line.
    let settings = EventsSettings {
        stream_max_age_days: 7,
        stream_max_bytes: 64 * 1024 * 1024,
        ..events_settings(&nats)
    };
    let _bus = NatsBus::connect(&settings).await.expect("connect again");
    let config = stream_config(&nats).await;
    assert_eq!(config.max_age, Duration::from_secs(7 * 24 * 3600));
    assert_eq!(config.max_bytes, 64 * 1024 * 1024);
    assert_eq!(config.subjects, vec!["tongxin.>".to_owned()]);
}

#[tokio::test]
async fn each_event_names_its_protobuf_message_in_its_headers() {
    let nats = TestNats::start().await;
    let bus = crate::nats_bus(&nats).await;
    let body = pb::ActivityHeld {
        activity_id: Uuid::now_v7().to_string(),
        attendance: 12,
        ..Default::default()
    };
    let event = Event {
        id: Uuid::now_v7(),
        subject: "tongxin.venues.activity_held".to_owned(),
        ce_type: "tongxin.venues.activity_held".to_owned(),
        source: "tongxin/venues".to_owned(),
        time: chrono::Utc::now(),
        traceparent: None,
        payload: body.encode_to_vec().into(),
    };
    for result in bus.publish_batch(std::slice::from_ref(&event)).await {
        result.expect("published");
    }
    // Acknowledged by JetStream, so it is in the stream: read it back as a consumer would.
    let js = async_nats::jetstream::new(nats.client().await);
    let stream = js.get_stream("TONGXIN").await.expect("stream");
    let message = stream.get_raw_message(1).await.expect("the event");
    let map = &message.headers;
    let content_type = map
        .get(headers::CONTENT_TYPE)
        .expect("content-type")
        .as_str();
    assert_eq!(
        content_type,
        "application/protobuf; proto=tongxin.events.v1.ActivityHeld"
    );
    assert_eq!(
        map.get(headers::CE_DATASCHEMA).map(|v| v.as_str()),
        Some("urn:tongxin:proto:tongxin.events.v1.ActivityHeld")
    );
    // Decoded by the name in the header alone, as a consumer holding only proto/ would.
    let name = message_of_content_type(content_type).expect("a message name");
    let descriptor = tongxin_proto::descriptor_pool()
        .get_message_by_name(name)
        .expect("defined in proto/");
    let decoded = prost_reflect::DynamicMessage::decode(descriptor, message.payload.clone())
        .expect("decodes");
    let json = serde_json::to_value(&decoded).expect("json");
    assert_eq!(json["activityId"], body.activity_id.as_str());
    assert_eq!(json["attendance"], 12);
}
