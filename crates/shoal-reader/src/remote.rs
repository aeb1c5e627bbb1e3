//! Objects in object storage (`s3://`, `gs://`, `az://`/`abfs://`,
//! `http(s)://`) through the `object_store` crate: listing for datasets,
//! ranged reads of Parquet footers and column chunks, uploads of finished
//! outputs.
//!
//! Credentials and endpoints come from the environment each store's own
//! tools read (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`,
//! and the profile `AWS_PROFILE` names in `~/.aws/credentials` and
//! `~/.aws/config`; `GOOGLE_*`; `AZURE_*`), then from [`set_options`]
//! (`--storage-option KEY=VALUE`), which also takes shoal's own
//! `max_retries` (default 5) and `retry_timeout` (default 60s): transient
//! errors are retried with exponential backoff up to those limits.
//!
//! The stores are asynchronous; shoal's readers are not. A small runtime
//! (two threads) runs the requests, and the reading threads wait on them:
//! each row group's column chunks are fetched in one call (ranges closer
//! than 1 MiB coalesced into one request), while the other threads decode.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, ObjectStoreScheme};

use crate::error::ReadError;

/// URL schemes read through object storage.
const SCHEMES: [&str; 10] = [
    "s3", "s3a", "gs", "az", "azure", "abfs", "abfss", "adl", "http", "https",
];

/// Whether `path` is an object-store URL rather than a local path.
pub fn is_url(path: &Path) -> bool {
    let s = path.to_string_lossy();
    match s.split_once("://") {
        Some((scheme, _)) => SCHEMES.contains(&scheme.to_ascii_lowercase().as_str()),
        None => false,
    }
}

static OPTIONS: OnceLock<Vec<(String, String)>> = OnceLock::new();
static REQUESTS: AtomicU64 = AtomicU64::new(0);
static CANCEL: OnceLock<&'static std::sync::atomic::AtomicBool> = OnceLock::new();

/// The flag Ctrl-C sets: an upload in progress stops between parts and is
/// aborted.
pub fn set_cancel(flag: &'static std::sync::atomic::AtomicBool) {
    let _ = CANCEL.set(flag);
}

fn cancelled() -> bool {
    CANCEL.get().is_some_and(|c| c.load(Ordering::Relaxed))
}
static BYTES: AtomicU64 = AtomicU64::new(0);

/// `--storage-option KEY=VALUE` pairs, for every store this process opens
/// (set once, before the first is opened).
pub fn set_options(options: Vec<(String, String)>) {
    let _ = OPTIONS.set(options);
}

fn options() -> &'static [(String, String)] {
    OPTIONS.get().map_or(&[], Vec::as_slice)
}

/// Requests made and bytes received so far (ranged reads, listings, heads,
/// upload parts), for benchmarks and `--verbose`.
pub fn traffic() -> (u64, u64) {
    (
        REQUESTS.load(Ordering::Relaxed),
        BYTES.load(Ordering::Relaxed),
    )
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("shoal-io")
            .enable_all()
            .build()
            .expect("a tokio runtime starts")
    })
}

/// Runs a request to completion from a synchronous caller.
pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    runtime().block_on(f)
}

fn err(url: &str, detail: impl std::fmt::Display) -> ReadError {
    ReadError::io(Path::new(url), std::io::Error::other(detail.to_string()))
}

/// What the store said, in a user's words.
fn store_err(url: &str, e: object_store::Error) -> ReadError {
    use object_store::Error as E;
    let kind = match &e {
        E::NotFound { .. } => std::io::ErrorKind::NotFound,
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => {
            std::io::ErrorKind::PermissionDenied
        }
        _ => std::io::ErrorKind::Other,
    };
    let detail = match &e {
        E::NotFound { .. } => "no such object (or no such bucket)".to_string(),
        E::PermissionDenied { source, .. } => format!("access denied ({source})"),
        E::Unauthenticated { source, .. } => {
            format!("the credentials were refused ({source})")
        }
        other => {
            let s = other.to_string();
            if s.contains("169.254.169.254") {
                // The last place the AWS chain looks: no key anywhere.
                format!("no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), or --storage-option aws_skip_signature=true for a public bucket ({s})")
            } else {
                s
            }
        }
    };
    ReadError::io(Path::new(url), std::io::Error::new(kind, detail))
}

fn retry() -> Result<object_store::RetryConfig, String> {
    let mut r = object_store::RetryConfig {
        max_retries: 5,
        retry_timeout: Duration::from_secs(60),
        ..Default::default()
    };
    for (k, v) in options() {
        match k.as_str() {
            "max_retries" => {
                r.max_retries = v
                    .parse()
                    .map_err(|_| format!("--storage-option max_retries={v}: not a count"))?
            }
            "retry_timeout" => {
                let secs: f64 = v
                    .trim_end_matches('s')
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                    .ok_or_else(|| format!("--storage-option retry_timeout={v}: not seconds"))?;
                r.retry_timeout = Duration::from_secs_f64(secs);
            }
            _ => {}
        }
    }
    Ok(r)
}

/// Options the store did not take: an unknown key is a mistake to report,
/// not to ignore.
fn unknown(k: &str) -> String {
    format!("--storage-option {k}: not an option of this store (see the object_store crate's configuration keys, e.g. aws_endpoint_url, aws_region, google_service_account, azure_storage_account_name)")
}

/// An AWS profile's keys from the shared files, when the environment has
/// none: `AWS_PROFILE` (or `default`) in `~/.aws/credentials` and
/// `~/.aws/config` (or `AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`).
fn aws_profile() -> Vec<(String, String)> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let profile = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".into());
    let file = |var: &str, name: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(name)))
    };
    let mut out = Vec::new();
    let sections = [
        (
            file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
            profile.clone(),
        ),
        (
            file("AWS_CONFIG_FILE", "config"),
            if profile == "default" {
                "default".into()
            } else {
                format!("profile {profile}")
            },
        ),
    ];
    for (path, section) in sections {
        let Some(text) = path.and_then(|p| std::fs::read_to_string(p).ok()) else {
            continue;
        };
        let mut inside = false;
        for line in text.lines().map(str::trim) {
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                inside = name.trim() == section;
            } else if inside {
                if let Some((k, v)) = line.split_once('=') {
                    let key = match k.trim() {
                        "aws_access_key_id" => "aws_access_key_id",
                        "aws_secret_access_key" => "aws_secret_access_key",
                        "aws_session_token" => "aws_session_token",
                        "region" => "aws_region",
                        "endpoint_url" => "aws_endpoint_url",
                        _ => continue,
                    };
                    out.push((key.to_string(), v.trim().to_string()));
                }
            }
        }
    }
    out
}

fn build(url: &url::Url) -> Result<Arc<dyn ObjectStore>, String> {
    let (scheme, _) = ObjectStoreScheme::parse(url).map_err(|e| e.to_string())?;
    let retry = retry()?;
    let shoal_key = |k: &str| matches!(k, "max_retries" | "retry_timeout");
    let store: Arc<dyn ObjectStore> = match scheme {
        ObjectStoreScheme::AmazonS3 => {
            use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
            let mut b = AmazonS3Builder::from_env();
            if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
                for (k, v) in aws_profile() {
                    // (a region or endpoint in the environment wins)
                    let env = k.to_ascii_uppercase();
                    if std::env::var_os(&env).is_some() {
                        continue;
                    }
                    if let Ok(key) = k.parse::<AmazonS3ConfigKey>() {
                        b = b.with_config(key, v);
                    }
                }
            }
            b = b.with_url(url.as_str());
            for (k, v) in options().iter().filter(|(k, _)| !shoal_key(k)) {
                let key: AmazonS3ConfigKey =
                    k.to_ascii_lowercase().parse().map_err(|_| unknown(k))?;
                b = b.with_config(key, v);
            }
            Arc::new(b.with_retry(retry).build().map_err(|e| e.to_string())?)
        }
        ObjectStoreScheme::GoogleCloudStorage => {
            use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
            let mut b = GoogleCloudStorageBuilder::from_env().with_url(url.as_str());
            for (k, v) in options().iter().filter(|(k, _)| !shoal_key(k)) {
                let key: GoogleConfigKey =
                    k.to_ascii_lowercase().parse().map_err(|_| unknown(k))?;
                b = b.with_config(key, v);
            }
            Arc::new(b.with_retry(retry).build().map_err(|e| e.to_string())?)
        }
        ObjectStoreScheme::MicrosoftAzure => {
            use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
            let mut b = MicrosoftAzureBuilder::from_env().with_url(url.as_str());
            for (k, v) in options().iter().filter(|(k, _)| !shoal_key(k)) {
                let key: AzureConfigKey = k.to_ascii_lowercase().parse().map_err(|_| unknown(k))?;
                b = b.with_config(key, v);
            }
            Arc::new(b.with_retry(retry).build().map_err(|e| e.to_string())?)
        }
        ObjectStoreScheme::Http => {
            use object_store::http::HttpBuilder;
            use object_store::ClientConfigKey;
            let base = &url[..url::Position::BeforePath];
            let mut b = HttpBuilder::new().with_url(base);
            if url.scheme() == "http" {
                b = b.with_config(ClientConfigKey::AllowHttp, "true");
            }
            for (k, v) in options().iter().filter(|(k, _)| !shoal_key(k)) {
                let key: ClientConfigKey =
                    k.to_ascii_lowercase().parse().map_err(|_| unknown(k))?;
                b = b.with_config(key, v);
            }
            Arc::new(b.with_retry(retry).build().map_err(|e| e.to_string())?)
        }
        other => {
            return Err(format!(
                "{other:?} URLs are not read through object storage"
            ))
        }
    };
    Ok(store)
}

/// An object: its store, its path in the store and its URL.
#[derive(Debug, Clone)]
pub(crate) struct Location {
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    pub(crate) url: String,
}

/// The store and path of `url` (stores are shared by bucket).
pub(crate) fn locate(url: &str) -> Result<Location, ReadError> {
    static STORES: OnceLock<Mutex<HashMap<String, Arc<dyn ObjectStore>>>> = OnceLock::new();
    let parsed = url::Url::parse(url).map_err(|e| err(url, format!("not a valid URL ({e})")))?;
    let (_, parsed_path) = ObjectStoreScheme::parse(&parsed).map_err(|e| err(url, e))?;
    // A bucket's key is the text after the bucket, literally (as the AWS
    // CLI reads `s3://b/a%20b`: the key `a%20b`); an HTTP URL's path is
    // decoded as URLs are.
    let path = if matches!(parsed.scheme(), "http" | "https") {
        parsed_path
    } else {
        let key = url
            .split_once("://")
            .and_then(|(_, rest)| rest.split_once('/'))
            .map_or("", |(_, key)| key)
            .trim_end_matches('/');
        ObjectPath::parse(key).map_err(|e| err(url, format!("not a valid object key ({e})")))?
    };
    let key = parsed[..url::Position::BeforePath].to_string();
    let stores = STORES.get_or_init(Default::default);
    let mut map = stores.lock().unwrap_or_else(|p| p.into_inner());
    let store = match map.get(&key) {
        Some(s) => s.clone(),
        None => {
            let s = build(&parsed).map_err(|e| ReadError::Usage {
                path: PathBuf::from(url),
                detail: e,
            })?;
            map.insert(key, s.clone());
            s
        }
    };
    Ok(Location {
        store,
        path,
        url: url.to_string(),
    })
}

/// What an object was when it was opened (size, entity tag, modification
/// time), checked again after every pass as local files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Version {
    pub(crate) size: u64,
    e_tag: Option<String>,
    modified: i64,
}

impl Location {
    pub(crate) fn head(&self) -> Result<Version, ReadError> {
        REQUESTS.fetch_add(1, Ordering::Relaxed);
        let m = block_on(self.store.head(&self.path)).map_err(|e| store_err(&self.url, e))?;
        Ok(Version {
            size: m.size,
            e_tag: m.e_tag,
            modified: m.last_modified.timestamp_nanos_opt().unwrap_or(0),
        })
    }

    /// Whether the object is still as `then`: an error saying what changed.
    pub(crate) fn check(&self, then: &Version) -> Result<(), ReadError> {
        let now = match self.head() {
            Ok(v) => v,
            Err(ReadError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Err(ReadError::Changed {
                    path: PathBuf::from(&self.url),
                    detail: "was deleted".into(),
                })
            }
            Err(e) => return Err(e),
        };
        let detail = if now.size < then.size {
            format!("shrank from {} to {} bytes", then.size, now.size)
        } else if now.size > then.size {
            format!("grew from {} to {} bytes", then.size, now.size)
        } else if now != *then {
            "was rewritten (a new entity tag or modification time)".into()
        } else {
            return Ok(());
        };
        Err(ReadError::Changed {
            path: PathBuf::from(&self.url),
            detail,
        })
    }

    /// The bytes of `ranges` (nearby ranges fetched in one request).
    pub(crate) fn get_ranges(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>, ReadError> {
        let store = &self.store;
        let path = &self.path;
        block_on(object_store::coalesce_ranges(
            ranges,
            |r| async move {
                REQUESTS.fetch_add(1, Ordering::Relaxed);
                let len = r.end - r.start;
                let b = store.get_range(path, r).await?;
                BYTES.fetch_add(len, Ordering::Relaxed);
                Ok::<Bytes, object_store::Error>(b)
            },
            object_store::OBJECT_STORE_COALESCE_DEFAULT,
        ))
        .map_err(|e| store_err(&self.url, e))
    }
}

/// The objects below `url` (a prefix, as a directory): (URL, size), in
/// key order.
pub fn list(url: &str) -> Result<Vec<(String, u64)>, ReadError> {
    let loc = locate(url)?;
    let base = url.trim_end_matches('/');
    let root = loc.path.as_ref().to_string();
    let prefix = (!root.is_empty()).then_some(&loc.path);
    let items: Vec<_> = block_on(async {
        REQUESTS.fetch_add(1, Ordering::Relaxed);
        loc.store.list(prefix).collect::<Vec<_>>().await
    });
    let mut out = Vec::new();
    for m in items {
        let m = m.map_err(|e| store_err(url, e))?;
        let key = m.location.as_ref();
        let rel = key
            .strip_prefix(root.as_str())
            .unwrap_or(key)
            .trim_start_matches('/');
        out.push((format!("{base}/{rel}"), m.size));
    }
    out.sort();
    Ok(out)
}

/// Deletes an object (best effort: for cleaning up after a failure).
pub fn delete(url: &str) -> Result<(), ReadError> {
    let loc = locate(url)?;
    REQUESTS.fetch_add(1, Ordering::Relaxed);
    block_on(loc.store.delete(&loc.path)).map_err(|e| store_err(url, e))
}

/// Uploads the local file `from` to `url` as a multipart upload, completed
/// only once every part is stored and aborted on any error: the object
/// appears whole or not at all.
pub fn upload(from: &Path, url: &str) -> Result<(), ReadError> {
    use std::io::Read;
    let loc = locate(url)?;
    let mut file = std::fs::File::open(from).map_err(|e| ReadError::io(from, e))?;
    let size = file.metadata().map_err(|e| ReadError::io(from, e))?.len();
    const PART: usize = 16 << 20;
    if size <= PART as u64 {
        // One request, as atomic as a multipart upload (which cannot be
        // empty).
        let mut body = Vec::with_capacity(size as usize);
        file.read_to_end(&mut body)
            .map_err(|e| ReadError::io(from, e))?;
        REQUESTS.fetch_add(1, Ordering::Relaxed);
        return block_on(loc.store.put(&loc.path, Bytes::from(body).into()))
            .map(|_| ())
            .map_err(|e| store_err(url, e));
    }
    block_on(async {
        REQUESTS.fetch_add(1, Ordering::Relaxed);
        let mut up = loc
            .store
            .put_multipart(&loc.path)
            .await
            .map_err(|e| store_err(url, e))?;
        let mut part = vec![0u8; PART];
        let result: Result<(), ReadError> = async {
            loop {
                let mut n = 0;
                while n < part.len() {
                    let got = file
                        .read(&mut part[n..])
                        .map_err(|e| ReadError::io(from, e))?;
                    if got == 0 {
                        break;
                    }
                    n += got;
                }
                if n == 0 {
                    break;
                }
                if cancelled() {
                    return Err(ReadError::io(
                        Path::new(url),
                        std::io::Error::new(
                            std::io::ErrorKind::Interrupted,
                            "interrupted; the upload was aborted",
                        ),
                    ));
                }
                REQUESTS.fetch_add(1, Ordering::Relaxed);
                up.put_part(Bytes::copy_from_slice(&part[..n]).into())
                    .await
                    .map_err(|e| store_err(url, e))?;
                if n < part.len() {
                    break;
                }
            }
            REQUESTS.fetch_add(1, Ordering::Relaxed);
            up.complete().await.map_err(|e| store_err(url, e))?;
            Ok(())
        }
        .await;
        if result.is_err() {
            let _ = up.abort().await;
        }
        result
    })
}

/// Byte ranges of an object held in memory (a footer, or the column chunks
/// of a row group): what the Parquet decoder and the page check read
/// instead of a file. Reading outside them is an error, never a request.
#[derive(Debug, Clone)]
pub(crate) struct Sparse {
    size: u64,
    /// (offset, bytes), sorted by offset.
    parts: Vec<(u64, Bytes)>,
}

impl Sparse {
    pub(crate) fn new(size: u64, mut parts: Vec<(u64, Bytes)>) -> Sparse {
        parts.sort_by_key(|p| p.0);
        Sparse { size, parts }
    }

    /// The part holding `start..start + len`, sliced to it.
    fn slice(&self, start: u64, len: u64) -> Option<Bytes> {
        let i = self
            .parts
            .partition_point(|p| p.0 <= start)
            .checked_sub(1)?;
        let (at, b) = &self.parts[i];
        let from = usize::try_from(start - at).ok()?;
        let to = from.checked_add(usize::try_from(len).ok()?)?;
        (to <= b.len()).then(|| b.slice(from..to))
    }

    fn missing(&self, start: u64, len: u64) -> parquet::errors::ParquetError {
        parquet::errors::ParquetError::General(format!(
            "bytes {start}..+{len} of the {}-byte object were not fetched (outside the column chunks its footer lists)",
            self.size
        ))
    }
}

impl parquet::file::reader::Length for Sparse {
    fn len(&self) -> u64 {
        self.size
    }
}

impl parquet::file::reader::ChunkReader for Sparse {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        use bytes::Buf;
        let i = self
            .parts
            .partition_point(|p| p.0 <= start)
            .checked_sub(1)
            .ok_or_else(|| self.missing(start, 0))?;
        let (at, b) = &self.parts[i];
        let from = usize::try_from(start - at).unwrap_or(usize::MAX);
        if from > b.len() {
            return Err(self.missing(start, 0));
        }
        Ok(b.slice(from..).reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        self.slice(start, length as u64)
            .ok_or_else(|| self.missing(start, length as u64))
    }
}

impl crate::pages::ReadAt for Sparse {
    fn read_exact_at(&self, buf: &mut [u8], at: u64) -> std::io::Result<()> {
        let b = self
            .slice(at, buf.len() as u64)
            .ok_or_else(|| std::io::Error::other(self.missing(at, buf.len() as u64).to_string()))?;
        buf.copy_from_slice(&b);
        Ok(())
    }
}

impl Location {
    /// The object's footer (the last bytes: the metadata and its length),
    /// in one request when it fits in the last 64 KiB, as most do.
    pub(crate) fn footer(&self, size: u64) -> Result<Sparse, ReadError> {
        let corrupt = |d: String| ReadError::Format {
            path: PathBuf::from(&self.url),
            format: "parquet",
            detail: d,
        };
        if size < 12 {
            return Err(corrupt(format!(
                "{size} bytes is too short for a Parquet file"
            )));
        }
        let n = size.min(64 << 10);
        let tail = self
            .get_ranges(std::slice::from_ref(&(size - n..size)))?
            .remove(0);
        let len_at = tail.len() - 8;
        let meta_len = u64::from(u32::from_le_bytes(
            tail[len_at..len_at + 4].try_into().unwrap_or([0; 4]),
        ));
        if meta_len + 8 > size {
            return Err(corrupt(format!(
                "the footer declares {meta_len} bytes of metadata in a {size}-byte file"
            )));
        }
        if meta_len + 8 <= n {
            return Ok(Sparse::new(size, vec![(size - n, tail)]));
        }
        let start = size - 8 - meta_len;
        let all = self
            .get_ranges(std::slice::from_ref(&(start..size)))?
            .remove(0);
        Ok(Sparse::new(size, vec![(start, all)]))
    }
}
