//! SNS publishing of alerts: `Publish` with `MessageStructure: json` and `String` message
//! attributes (contract §5).

use aws_sdk_sns::Client;
use aws_sdk_sns::types::MessageAttributeValue;
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::alert::SnsMessage;
use crate::guard::{AlertSink, PublishError};

/// Publishes alerts to one topic.
#[derive(Debug, Clone)]
pub struct SnsSink {
    client: Client,
    topic_arn: String,
}

impl SnsSink {
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        SnsSink {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

impl AlertSink for SnsSink {
    async fn publish(&self, message: &SnsMessage) -> Result<(), PublishError> {
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .message_structure("json")
            .message(message.body())
            .subject(&message.subject);
        for (name, value) in &message.attributes {
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|err| PublishError {
                    message: format!("message attribute `{name}`: {err}"),
                })?;
            request = request.message_attributes(name, attribute);
        }
        let output = request.send().await.map_err(|err| PublishError {
            message: format!("SNS Publish: {}", DisplayErrorContext(err)),
        })?;
        tracing::info!(
            message_id = output.message_id().unwrap_or("-"),
            part = message.part,
            parts = message.parts,
            bytes = message.publish_bytes(),
            "published an alert"
        );
        Ok(())
    }
}
