//! The exports bucket: whole objects, and multipart uploads that stream large exports without
//! holding them in memory.

use std::future::Future;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

use crate::error::{Error, Result};

/// Where exports are written. The S3 implementation is [`S3Exports`]; the trait is the seam for
/// another store, and for tests that inject a failure halfway through an upload.
pub trait ExportSink: Send + Sync {
    fn put_object(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> impl Future<Output = Result<()>> + Send;
    /// Starts a multipart upload; returns its id.
    fn create_upload(&self, key: &str, content_type: &str) -> impl Future<Output = Result<String>> + Send;
    /// Uploads part `number` (from 1); returns its ETag.
    fn upload_part(
        &self,
        key: &str,
        upload: &str,
        number: i32,
        bytes: Vec<u8>,
    ) -> impl Future<Output = Result<String>> + Send;
    /// Makes the object visible from its parts' ETags, in order.
    fn complete_upload(&self, key: &str, upload: &str, etags: &[String]) -> impl Future<Output = Result<()>> + Send;
    /// Discards an upload and its parts: nothing becomes visible.
    fn abort_upload(&self, key: &str, upload: &str) -> impl Future<Output = Result<()>> + Send;
}

/// The exports bucket on S3.
#[derive(Debug, Clone)]
pub struct S3Exports {
    s3: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Exports {
    pub fn new(s3: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self { s3, bucket: bucket.into() }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

impl ExportSink for S3Exports {
    #[tracing::instrument(skip(self, bytes))]
    async fn put_object(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<()> {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| Error::internal("writing an export", e))?;
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    async fn create_upload(&self, key: &str, content_type: &str) -> Result<String> {
        let output = self
            .s3
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .send()
            .await
            .map_err(|e| Error::internal("starting an export upload", e))?;
        output.upload_id.ok_or_else(|| Error::internal("starting an export upload", "S3 returned no upload id"))
    }

    #[tracing::instrument(skip(self, bytes), fields(bytes = bytes.len()))]
    async fn upload_part(&self, key: &str, upload: &str, number: i32, bytes: Vec<u8>) -> Result<String> {
        let output = self
            .s3
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload)
            .part_number(number)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| Error::internal("uploading an export part", e))?;
        Ok(output.e_tag.unwrap_or_default())
    }

    #[tracing::instrument(skip(self, etags))]
    async fn complete_upload(&self, key: &str, upload: &str, etags: &[String]) -> Result<()> {
        let parts = etags
            .iter()
            .zip(1..)
            .map(|(etag, number)| CompletedPart::builder().e_tag(etag).part_number(number).build())
            .collect();
        self.s3
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await
            .map_err(|e| Error::internal("completing an export upload", e))?;
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    async fn abort_upload(&self, key: &str, upload: &str) -> Result<()> {
        self.s3
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload)
            .send()
            .await
            .map_err(|e| Error::internal("aborting an export upload", e))?;
        Ok(())
    }
}

/// The smallest part S3 accepts, but for the last one.
pub const MIN_PART_BYTES: usize = 5 * 1024 * 1024;

/// Streams one object to a sink in parts of `part_bytes`, holding at most one part in memory.
pub struct MultipartWriter<'s, S: ExportSink> {
    sink: &'s S,
    key: String,
    upload: String,
    part_bytes: usize,
    buffer: Vec<u8>,
    etags: Vec<String>,
}

impl<'s, S: ExportSink> MultipartWriter<'s, S> {
    pub async fn start(sink: &'s S, key: &str, content_type: &str, part_bytes: usize) -> Result<Self> {
        let upload = sink.create_upload(key, content_type).await?;
        Ok(Self {
            sink,
            key: key.to_owned(),
            upload,
            part_bytes,
            buffer: Vec::with_capacity(part_bytes),
            etags: vec![],
        })
    }

    /// Appends bytes, uploading a part whenever one is full.
    pub async fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.buffer.extend_from_slice(bytes);
        while self.buffer.len() >= self.part_bytes {
            let rest = self.buffer.split_off(self.part_bytes);
            let part = std::mem::replace(&mut self.buffer, rest);
            self.upload(part).await?;
        }
        Ok(())
    }

    /// Uploads what is left and makes the object visible. After a failure, [`Self::abort`].
    pub async fn finish(&mut self) -> Result<()> {
        if !self.buffer.is_empty() || self.etags.is_empty() {
            let last = std::mem::take(&mut self.buffer);
            self.upload(last).await?;
        }
        self.sink.complete_upload(&self.key, &self.upload, &self.etags).await
    }

    /// Discards the upload; nothing of it becomes visible.
    pub async fn abort(self) -> Result<()> {
        self.sink.abort_upload(&self.key, &self.upload).await
    }

    async fn upload(&mut self, part: Vec<u8>) -> Result<()> {
        let number = self.etags.len() as i32 + 1;
        let etag = self.sink.upload_part(&self.key, &self.upload, number, part).await?;
        self.etags.push(etag);
        Ok(())
    }
}
