//! The exports bucket: whole objects, and multipart uploads that stream large exports without
//! holding them in memory.

use std::future::Future;
use std::path::Path;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use tokio::io::AsyncWriteExt;

use crate::error::{Error, Result, ResultExt};

/// Where exports are written. The S3 implementation is [`S3Exports`]; the trait is the seam for
/// another store, and for tests that inject a failure halfway through an upload.
pub trait ExportSink: Send + Sync {
    fn put_object(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> impl Future<Output = Result<()>> + Send;
    /// Starts a multipart upload; returns its id.
    fn create_upload(&self, key: &str, content_type: &str) -> impl Future<Output = Result<String>> + Send;
    /// Uploads part `number` (from 1), the whole file at `part`; returns its ETag.
    fn upload_part(
        &self,
        key: &str,
        upload: &str,
        number: i32,
        part: &Path,
    ) -> impl Future<Output = Result<String>> + Send;
    /// Makes the object visible from its parts' ETags, in order.
    fn complete_upload(&self, key: &str, upload: &str, etags: &[String]) -> impl Future<Output = Result<()>> + Send;
    /// Discards an upload and its parts: nothing becomes visible.
    fn abort_upload(&self, key: &str, upload: &str) -> impl Future<Output = Result<()>> + Send;
    /// The keys of the objects under `prefix`, in key order (at most 1,000: what one page holds).
    fn list_keys(&self, prefix: &str) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// Deletes an object; deleting one that is not there is not an error.
    fn delete_object(&self, key: &str) -> impl Future<Output = Result<()>> + Send;
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
            .context("writing an export")?;
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    async fn list_keys(&self, prefix: &str) -> Result<Vec<String>> {
        let output =
            self.s3.list_objects_v2().bucket(&self.bucket).prefix(prefix).send().await.context("listing exports")?;
        Ok(output.contents.unwrap_or_default().into_iter().filter_map(|object| object.key).collect())
    }

    #[tracing::instrument(skip(self))]
    async fn delete_object(&self, key: &str) -> Result<()> {
        self.s3.delete_object().bucket(&self.bucket).key(key).send().await.context("deleting an export")?;
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
            .context("starting an export upload")?;
        output.upload_id.ok_or_else(|| Error::internal("starting an export upload", "S3 returned no upload id"))
    }

    #[tracing::instrument(skip(self))]
    async fn upload_part(&self, key: &str, upload: &str, number: i32, part: &Path) -> Result<String> {
        let body = ByteStream::read_from()
            .path(part)
            .buffer_size(READ_BUFFER_BYTES)
            .build()
            .await
            .context("reading an export part")?;
        let output = self
            .s3
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload)
            .part_number(number)
            .body(body)
            .send()
            .await
            .context("uploading an export part")?;
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
            .context("completing an export upload")?;
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
            .context("aborting an export upload")?;
        Ok(())
    }
}

/// The smallest part S3 accepts, but for the last one.
pub const MIN_PART_BYTES: usize = 5 * 1024 * 1024;
/// The chunk in which a spooled part is read back and sent.
const READ_BUFFER_BYTES: usize = 64 * 1024;

/// Streams one object to a sink in parts of at least `part_bytes`. The part being filled is
/// spooled to a temporary file (`/tmp` on Lambda, which is not the function's memory), so memory
/// stays the same however large the object grows.
pub struct MultipartWriter<'s, S: ExportSink> {
    sink: &'s S,
    key: String,
    upload: String,
    part_bytes: usize,
    part: Spool,
    etags: Vec<String>,
}

impl<'s, S: ExportSink> MultipartWriter<'s, S> {
    pub async fn start(sink: &'s S, key: &str, content_type: &str, part_bytes: usize) -> Result<Self> {
        let part = Spool::new()?;
        let upload = sink.create_upload(key, content_type).await?;
        Ok(Self { sink, key: key.to_owned(), upload, part_bytes, part, etags: vec![] })
    }

    /// Appends bytes, uploading the part once it holds `part_bytes` or more.
    pub async fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.part.write(bytes).await?;
        if self.part.len >= self.part_bytes {
            self.upload_part().await?;
        }
        Ok(())
    }

    /// Uploads what is left and makes the object visible. After a failure, [`Self::abort`].
    pub async fn finish(&mut self) -> Result<()> {
        if self.part.len > 0 || self.etags.is_empty() {
            self.upload_part().await?;
        }
        self.sink.complete_upload(&self.key, &self.upload, &self.etags).await
    }

    /// Discards the upload; nothing of it becomes visible.
    pub async fn abort(self) -> Result<()> {
        self.sink.abort_upload(&self.key, &self.upload).await
    }

    /// Uploads the spooled part and starts the next one in a fresh file (the old one is deleted).
    async fn upload_part(&mut self) -> Result<()> {
        self.part.file.flush().await.map_err(spool_failed)?;
        let number = self.etags.len() as i32 + 1;
        let etag = self.sink.upload_part(&self.key, &self.upload, number, &self.part.path).await?;
        self.etags.push(etag);
        self.part = Spool::new()?;
        Ok(())
    }
}

/// A temporary file holding one part, deleted when dropped.
struct Spool {
    path: tempfile::TempPath,
    file: tokio::fs::File,
    len: usize,
}

impl Spool {
    fn new() -> Result<Self> {
        let (file, path) = tempfile::NamedTempFile::new().map_err(spool_failed)?.into_parts();
        Ok(Self { path, file: tokio::fs::File::from_std(file), len: 0 })
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.file.write_all(bytes).await.map_err(spool_failed)?;
        self.len += bytes.len();
        Ok(())
    }
}

fn spool_failed(e: std::io::Error) -> Error {
    Error::internal("spooling an export part", e)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Records the parts a writer produces; the S3 sink itself is tested against the emulator.
    #[derive(Default)]
    struct Parts(Mutex<Vec<Vec<u8>>>);

    impl ExportSink for Parts {
        async fn put_object(&self, _: &str, _: Vec<u8>, _: &str) -> Result<()> {
            unreachable!("the writer only uploads parts")
        }
        async fn create_upload(&self, _: &str, _: &str) -> Result<String> {
            Ok("upload".into())
        }
        async fn upload_part(&self, _: &str, _: &str, number: i32, part: &Path) -> Result<String> {
            let mut parts = self.0.lock().unwrap();
            assert_eq!(number as usize, parts.len() + 1);
            parts.push(std::fs::read(part).unwrap());
            Ok(format!("etag-{number}"))
        }
        async fn complete_upload(&self, _: &str, _: &str, etags: &[String]) -> Result<()> {
            assert_eq!(etags.len(), self.0.lock().unwrap().len());
            Ok(())
        }
        async fn abort_upload(&self, _: &str, _: &str) -> Result<()> {
            Ok(())
        }
        async fn list_keys(&self, _: &str) -> Result<Vec<String>> {
            unreachable!("the writer only uploads parts")
        }
        async fn delete_object(&self, _: &str) -> Result<()> {
            unreachable!("the writer only uploads parts")
        }
    }

    #[tokio::test]
    async fn parts_are_full_but_for_the_last_and_add_up_to_what_was_written() {
        let sink = Parts::default();
        let mut writer = MultipartWriter::start(&sink, "k", "text/csv", 10).await.unwrap();
        let mut written = vec![];
        for chunk in [&b"abcd"[..], b"efgh", b"ijkl", b"mnopqrstuvwxyz", b"12"] {
            writer.write(chunk).await.unwrap();
            written.extend_from_slice(chunk);
        }
        writer.finish().await.unwrap();

        let parts = sink.0.into_inner().unwrap();
        assert_eq!(parts.concat(), written);
        let (last, full) = parts.split_last().unwrap();
        assert!(full.iter().all(|p| p.len() >= 10), "{parts:?}");
        assert_eq!(last, b"12");
    }

    #[tokio::test]
    async fn an_empty_object_is_one_empty_part() {
        let sink = Parts::default();
        let mut writer = MultipartWriter::start(&sink, "k", "text/csv", 10).await.unwrap();
        writer.finish().await.unwrap();
        assert_eq!(sink.0.into_inner().unwrap(), vec![Vec::<u8>::new()]);
    }
}
