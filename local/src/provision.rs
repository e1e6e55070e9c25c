//! Creates the template's table, queues and bucket on an AWS emulator, under names of our choice,
//! so each test (and the local platform) gets resources of its own with the deployed schema.

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;

use crate::specs::{KeyElement, QueueSpec, Specs};

/// The names of what [`provision`] created.
#[derive(Debug, Clone)]
pub struct Resources {
    pub table: String,
    pub queue_url: String,
    pub dead_letter_queue_url: String,
    pub bucket: String,
}

#[derive(Debug, thiserror::Error)]
#[error("provisioning {what} failed")]
pub struct ProvisionError {
    what: &'static str,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

fn failed<E: std::error::Error + Send + Sync + 'static>(what: &'static str) -> impl FnOnce(E) -> ProvisionError {
    move |e| ProvisionError { what, source: Box::new(e) }
}

/// Creates every resource of the template under names starting with `prefix` (lowercase letters,
/// digits and dashes, as S3 requires).
pub async fn provision(sdk: &SdkConfig, specs: &Specs, prefix: &str) -> Result<Resources, ProvisionError> {
    let table = format!("{prefix}-orders");
    create_table(sdk, specs, &table).await?;

    let sqs = platform::aws::sqs(sdk);
    let dead_letter_queue_url =
        create_queue(&sqs, &format!("{prefix}-order-dlq"), &specs.dead_letter_queue, None).await?;
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dead_letter_queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(failed("the dead-letter queue's ARN"))?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .unwrap_or_default();
    let queue_url = create_queue(&sqs, &format!("{prefix}-order-queue"), &specs.queue, Some(&dlq_arn)).await?;

    let bucket = format!("{prefix}-exports");
    platform::aws::s3(sdk).create_bucket().bucket(&bucket).send().await.map_err(failed("the exports bucket"))?;

    Ok(Resources { table, queue_url, dead_letter_queue_url, bucket })
}

/// The resources a previous [`provision`] under `prefix` left, if the emulator still has them
/// (a restart with saved state).
pub async fn existing(sdk: &SdkConfig, prefix: &str) -> Option<Resources> {
    let table = format!("{prefix}-orders");
    platform::aws::dynamodb(sdk).describe_table().table_name(&table).send().await.ok()?;
    let sqs = platform::aws::sqs(sdk);
    let url = |name: String| {
        let sqs = sqs.clone();
        async move { sqs.get_queue_url().queue_name(name).send().await.ok()?.queue_url }
    };
    Some(Resources {
        table,
        queue_url: url(format!("{prefix}-order-queue")).await?,
        dead_letter_queue_url: url(format!("{prefix}-order-dlq")).await?,
        bucket: format!("{prefix}-exports"),
    })
}

impl Resources {
    pub fn names(&self) -> server::Names<'_> {
        server::Names { table: &self.table, queue_url: &self.queue_url, bucket: &self.bucket }
    }
}

fn key_schema(elements: &[KeyElement]) -> Vec<KeySchemaElement> {
    elements
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .expect("name and type are set")
        })
        .collect()
}

async fn create_table(sdk: &SdkConfig, specs: &Specs, name: &str) -> Result<(), ProvisionError> {
    let spec = &specs.table;
    let db = platform::aws::dynamodb(sdk);
    let attributes = spec.attribute_definitions.iter().map(|a| {
        AttributeDefinition::builder()
            .attribute_name(&a.attribute_name)
            .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
            .build()
            .expect("name and type are set")
    });
    let indexes = spec.global_secondary_indexes.iter().map(|i| {
        GlobalSecondaryIndex::builder()
            .index_name(&i.index_name)
            .set_key_schema(Some(key_schema(&i.key_schema)))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::from(i.projection.projection_type.as_str()))
                    .build(),
            )
            .build()
            .expect("name and keys are set")
    });
    let created = db
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attributes.collect()))
        .set_key_schema(Some(key_schema(&spec.key_schema)))
        .set_global_secondary_indexes(Some(indexes.collect()))
        .send()
        .await;
    match created {
        // The local platform's tables outlive a crash in dynoxide's file, while the queues it
        // would have saved on a clean exit are gone: keep the table, make the rest anew.
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => return Ok(()),
        other => other.map_err(failed("the table"))?,
    };
    if let Some(ttl) = &spec.time_to_live_specification {
        let ttl = TimeToLiveSpecification::builder()
            .attribute_name(&ttl.attribute_name)
            .enabled(ttl.enabled)
            .build()
            .expect("name and flag are set");
        db.update_time_to_live()
            .table_name(name)
            .time_to_live_specification(ttl)
            .send()
            .await
            .map_err(failed("the table's TTL"))?;
    }
    Ok(())
}

async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    spec: &QueueSpec,
    dead_letter_arn: Option<&str>,
) -> Result<String, ProvisionError> {
    let mut request = sqs.create_queue().queue_name(name);
    if let Some(timeout) = spec.visibility_timeout {
        request = request.attributes(QueueAttributeName::VisibilityTimeout, timeout.to_string());
    }
    if let Some(retention) = spec.message_retention_period {
        request = request.attributes(QueueAttributeName::MessageRetentionPeriod, retention.to_string());
    }
    if let (Some(policy), Some(arn)) = (&spec.redrive_policy, dead_letter_arn) {
        let redrive = serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": policy.max_receive_count});
        request = request.attributes(QueueAttributeName::RedrivePolicy, redrive.to_string());
    }
    let output = request.send().await.map_err(failed("a queue"))?;
    Ok(output.queue_url.unwrap_or_default())
}
