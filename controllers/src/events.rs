//! Kubernetes Events (core/v1) on the objects a controller acts for, so `kubectl describe`
//! and `kubectl get events` show what it did.

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::PostParams;

/// The object an Event is about.
#[derive(Debug, Clone, Default)]
pub struct Subject {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub uid: Option<String>,
}

/// A `Normal` (or `Warning`) Event on `subject`, from `component`.
pub fn event(
    subject: &Subject,
    component: &str,
    warning: bool,
    reason: &str,
    message: &str,
) -> Event {
    let at = Timestamp::now();
    let now = Time(at);
    Event {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}.", subject.name)),
            namespace: Some(subject.namespace.clone()),
            ..Default::default()
        },
        involved_object: ObjectReference {
            api_version: Some(subject.api_version.clone()),
            kind: Some(subject.kind.clone()),
            name: Some(subject.name.clone()),
            namespace: Some(subject.namespace.clone()),
            uid: subject.uid.clone(),
            ..Default::default()
        },
        reason: Some(reason.to_string()),
        message: Some(message.to_string()),
        type_: Some(if warning { "Warning" } else { "Normal" }.to_string()),
        source: Some(EventSource {
            component: Some(component.to_string()),
            ..Default::default()
        }),
        reporting_component: Some(component.to_string()),
        reporting_instance: Some(component.to_string()),
        action: Some(reason.to_string()),
        event_time: Some(MicroTime(at)),
        first_timestamp: Some(now.clone()),
        last_timestamp: Some(now),
        count: Some(1),
        ..Default::default()
    }
}

/// Record an Event; the API's error if it could not be written.
pub async fn record(
    client: &kube::Client,
    subject: &Subject,
    component: &str,
    warning: bool,
    reason: &str,
    message: &str,
) -> Result<(), kube::Error> {
    let api: Api<Event> = Api::namespaced(client.clone(), &subject.namespace);
    api.create(
        &PostParams::default(),
        &event(subject, component, warning, reason, message),
    )
    .await
    .map(|_| ())
}
