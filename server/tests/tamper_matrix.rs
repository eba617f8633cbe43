//! The tamper matrix: every way this suite knows to make a presigned URL
//! write something other than the one write it was issued for, each case on
//! an upload of its own against a live `agora serve`, on the embedded
//! endpoint and on moto (a second S3 implementation).
//!
//! After each case, whatever storage said: the upload completes only if
//! exactly the declared bytes arrived, the file then holds exactly those (and
//! otherwise does not exist), and no answer is a 5xx. The embedded endpoint
//! must also refuse every tampered request itself. moto checks no
//! signatures at all, so the cases only a signature check can refuse (an
//! edited URL) run on the embedded endpoint alone; on moto the others show
//! that Agora holds when storage lets anything through. At the end, every
//! file in the dataset is one of the declared ones: no secret got in.
//!
//! Beside the URLs: every route that takes a path or a name, with hostile
//! ones aimed at `sys/*`, and other people's upload ids.

mod common;

use agora_testkit::md5_b64;
use common::api::{server_on_moto_with_mail_and, server_with_mail_and, verified_admin, verified_user};
use common::TestServer;
use common::UNSIGNED_ADDITIONS;
use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Files below this go in one PUT; the part cases use files above it.
const THRESHOLD: u64 = 1024;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Body {
    Declared,
    Empty,
    Short,
    Long,
    Megabyte,
    /// The declared size, one byte flipped.
    Other,
}

impl Body {
    fn bytes(self, declared: &[u8]) -> Vec<u8> {
        match self {
            Body::Declared => declared.to_vec(),
            Body::Empty => Vec::new(),
            Body::Short => declared[1..].to_vec(),
            Body::Long => [declared, b"!"].concat(),
            Body::Megabyte => vec![0; 1 << 20],
            Body::Other => other_bytes(declared),
        }
    }
}

fn other_bytes(declared: &[u8]) -> Vec<u8> {
    let mut other = declared.to_vec();
    other[3] ^= 0x20;
    other
}

/// Stands for the MD5 of [`Body::Other`] in a header value.
const OTHER_MD5: &str = "{other-md5}";

#[derive(Clone, Copy, PartialEq, Debug)]
enum Grant {
    /// A single PUT to the upload's staging key.
    Put,
    /// The URL of part 1 of a multipart upload.
    Part,
}

#[derive(Clone, Debug)]
struct Case {
    name: String,
    method: Method,
    /// Edits of the URL: (from, to); an empty `from` appends `to`.
    url: Vec<(String, String)>,
    drop: Vec<&'static str>,
    set: Vec<(String, String)>,
    body: Body,
    /// Refused only by a store that checks the URL's signature.
    signature: bool,
}

impl Case {
    fn new(name: impl Into<String>) -> Self {
        Case {
            name: name.into(),
            method: Method::PUT,
            url: Vec::new(),
            drop: Vec::new(),
            set: Vec::new(),
            body: Body::Declared,
            signature: false,
        }
    }

    fn body(mut self, body: Body) -> Self {
        self.body = body;
        self
    }

    fn header(mut self, name: &str, value: &str) -> Self {
        self.set.push((name.to_owned(), value.to_owned()));
        self
    }

    fn without(mut self, name: &'static str) -> Self {
        self.drop.push(name);
        self
    }

    fn edit(mut self, from: &str, to: &str) -> Self {
        self.url.push((from.to_owned(), to.to_owned()));
        self.signature = true;
        self
    }

    fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    fn request(&self, client: &reqwest::Client, url: &str, headers: &Value, declared: &[u8]) -> reqwest::RequestBuilder {
        let mut url = url.to_owned();
        for (from, to) in &self.url {
            if from.is_empty() {
                url.push_str(to);
            } else {
                assert!(url.contains(from.as_str()), "{}: the URL {url} has no {from}", self.name);
                url = url.replacen(from.as_str(), to, 1);
            }
        }
        let mut request = client.request(self.method.clone(), url).body(self.body.bytes(declared));
        let mut sent: Vec<(String, String)> = headers
            .as_array()
            .into_iter()
            .flatten()
            .map(|h| (h[0].as_str().unwrap().to_owned(), h[1].as_str().unwrap().to_owned()))
            .filter(|(name, _)| !self.drop.iter().any(|d| name.eq_ignore_ascii_case(d)))
            .collect();
        for (name, value) in &self.set {
            let value = value.replace(OTHER_MD5, &md5_b64(&other_bytes(declared)));
            sent.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            sent.push((name.clone(), value));
        }
        for (name, value) in sent {
            request = request.header(name, value);
        }
        request
    }
}

/// The objects a copy must never reach, in `bucket`, and another dataset's file.
fn copy_sources(bucket: &str, admin: &str, elsewhere: &str) -> Vec<String> {
    vec![
        format!("{bucket}/sys/session-secret"),
        format!("{bucket}/sys/admin-claimed"),
        format!("{bucket}/sys/users/{admin}.json"),
        format!("/{bucket}/sys/session-secret"),
        format!("{bucket}/sys/session-secret?versionId=null"),
        format!("{bucket}%2Fsys%2Fsession-secret"),
        format!("{bucket}/{elsewhere}"),
    ]
}

/// Edits of the query and path that only the signature guards.
fn url_edits(grant: Grant, id: &str, other_id: &str, bucket: &str) -> Vec<Case> {
    let mut cases = vec![
        Case::new("copy source in the query").edit("", &format!("&x-amz-copy-source={bucket}%2Fsys%2Fsession-secret")),
        Case::new("?tagging added").edit("", "&tagging"),
        Case::new("?acl added").edit("", "&acl"),
        Case::new("?uploads added").edit("", "&uploads"),
        Case::new("versionId added").edit("", "&versionId=null"),
        Case::new("a longer X-Amz-Expires appended").edit("", "&X-Amz-Expires=604800"),
        Case::new("X-Amz-Expires made longer").edit("X-Amz-Expires=", "X-Amz-Expires=9"),
        Case::new("X-Amz-Date a year later").edit("X-Amz-Date=2", "X-Amz-Date=3"),
        Case::new("signature edited").edit("X-Amz-Signature=", "X-Amz-Signature=0"),
        Case::new("signed headers trimmed").edit("X-Amz-SignedHeaders=", "X-Amz-SignedHeaders=host%3B"),
        Case::new("response-content-type added").edit("", "&response-content-type=text%2Fhtml"),
        Case::new("another dataset's key").edit(&format!("/ds/{id}/"), &format!("/ds/{other_id}/")),
        Case::new("the session secret's key").edit(&format!("/{bucket}/ds/"), &format!("/{bucket}/sys/session-secret?ds/")),
        Case::new("another bucket").edit(&format!("/{bucket}/"), "/agora-other/"),
        Case::new("the key in capitals").edit("/ds/", "/DS/"),
    ];
    match grant {
        Grant::Put => cases.extend([
            Case::new("the staging key made the file's").edit("/staging/", "/files/"),
            Case::new("made an UploadPart").edit("", "&partNumber=1&uploadId=00000000000000000000000000000000"),
        ]),
        Grant::Part => cases.extend([
            Case::new("another part number").edit("partNumber=1", "partNumber=2"),
            Case::new("part number 10000").edit("partNumber=1", "partNumber=10000"),
            Case::new("another upload id").edit("uploadId=", "uploadId=0"),
            Case::new("the upload id dropped (a PutObject to the file's key)").edit("uploadId=", "x-id=PutObject&was="),
        ]),
    }
    // Each with the declared bytes and with none.
    cases.into_iter().flat_map(|c| [c.clone(), Case { name: format!("{}, empty body", c.name), body: Body::Empty, ..c }]).collect()
}

fn cases(grant: Grant, id: &str, other_id: &str, bucket: &str, admin: &str, elsewhere: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    for body in [Body::Empty, Body::Short, Body::Long, Body::Megabyte, Body::Other] {
        cases.push(Case::new(format!("{body:?} body")).body(body));
    }
    let dropped: &[&'static str] = match grant {
        Grant::Put => &["content-md5", "content-type", "x-amz-tagging"],
        Grant::Part => &["content-md5"],
    };
    for name in dropped {
        for body in [Body::Declared, Body::Other] {
            cases.push(Case::new(format!("without {name}, {body:?} body")).without(name).body(body));
        }
    }
    let mut swaps = vec![("content-md5", OTHER_MD5)];
    if grant == Grant::Put {
        swaps.extend([
            ("content-type", "text/html"),
            ("content-type", "image/svg+xml"),
            ("content-type", "application/javascript"),
            ("x-amz-tagging", "split=test"),
            ("x-amz-tagging", "split=train&owner=mallory"),
        ]);
    }
    for (name, value) in swaps {
        for body in [Body::Declared, Body::Other] {
            cases.push(Case::new(format!("{name}: {value}, {body:?} body")).header(name, value).body(body));
        }
    }
    let mut added: Vec<(String, String)> =
        copy_sources(bucket, admin, elsewhere).into_iter().map(|source| ("x-amz-copy-source".to_owned(), source)).collect();
    added.push(("x-amz-copy-source-range".into(), "bytes=0-9".into()));
    added.extend(UNSIGNED_ADDITIONS.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    for (name, value) in added {
        for body in [Body::Declared, Body::Empty] {
            cases.push(Case::new(format!("added {name}: {value}, {body:?} body")).header(&name, &value).body(body));
        }
    }
    for method in [Method::POST, Method::DELETE, Method::GET, Method::HEAD, Method::PATCH] {
        cases.push(Case::new(format!("{method} instead of PUT")).method(method));
    }
    cases.extend(url_edits(grant, id, other_id, bucket));
    cases
}

/// What a case's upload declared, distinct per case (so the final check can
/// tell every file by its bytes).
fn declared_bytes(grant: Grant, n: usize) -> Vec<u8> {
    let line = format!("{grant:?} case {n}: the bytes that were declared\n").into_bytes();
    let size = match grant {
        Grant::Put => line.len() * 2,
        Grant::Part => THRESHOLD as usize * 2,
    };
    line.iter().copied().cycle().take(size).collect()
}

struct Run<'a> {
    server: &'a TestServer,
    user: &'a str,
    id: &'a str,
    strict: bool,
}

/// What one case did: whether storage took the tampered request, and
/// whether the upload then completed.
struct Outcome {
    storage_took_it: bool,
}

impl Run<'_> {
    async fn case(&self, grant: Grant, n: usize, case: &Case) -> Outcome {
        let (server, user, id) = (self.server, self.user, self.id);
        let uploads = format!("/api/v1/datasets/{id}/uploads");
        let declared = declared_bytes(grant, n);
        let path = format!("matrix/{grant:?}-{n}.bin");
        let mut start = json!({"path": path, "size": declared.len(), "content_type": "application/octet-stream",
            "labels": [{"key": "split", "value": "train"}]});
        if grant == Grant::Put {
            start["md5"] = json!(md5_b64(&declared));
        }
        let (status, ticket) = server.post(&uploads, Some(user), start).await;
        assert_eq!(status, StatusCode::CREATED, "{}: {ticket}", case.name);
        let upload = format!("{uploads}/{}", ticket["upload_id"].as_str().unwrap());
        let (url, headers) = match grant {
            Grant::Put => (ticket["put"]["url"].as_str().unwrap().to_owned(), ticket["put"]["headers"].clone()),
            Grant::Part => {
                let (status, urls) = server
                    .post(&format!("{upload}/parts"), Some(user), json!({"parts": [{"part_number": 1, "md5": md5_b64(&declared)}]}))
                    .await;
                assert_eq!(status, StatusCode::OK, "{}: {urls}", case.name);
                (urls[0]["url"].as_str().unwrap().to_owned(), urls[0]["headers"].clone())
            }
        };
        let response = case.request(&server.client, &url, &headers, &declared).send().await.unwrap();
        let storage_took_it = response.status().is_success();
        // (moto's own answers are not judged: it fails some of these with 500s.)
        if self.strict {
            assert!(response.status().is_client_error(), "{grant:?} {}: the embedded endpoint answered {}", case.name, response.status());
        }
        let (status, answer) = server.post(&format!("{upload}/complete"), Some(user), json!({})).await;
        assert!(
            [StatusCode::OK, StatusCode::BAD_REQUEST, StatusCode::NOT_FOUND].contains(&status),
            "{grant:?} {}: completing answered {status} {answer}",
            case.name
        );
        let (found, link) = server.get(&format!("/api/v1/datasets/{id}/download?path={path}"), Some(user)).await;
        if status == StatusCode::OK {
            let fetched = server.client.get(link["url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
            assert!(fetched[..] == declared[..], "{grant:?} {}: a completed file holds other bytes than declared", case.name);
            assert_eq!(answer["content_type"], "application/octet-stream", "{grant:?} {}", case.name);
        } else {
            assert_eq!(found, StatusCode::NOT_FOUND, "{grant:?} {}: a refused upload left a file", case.name);
            server.call(Method::DELETE, &upload, Some(user), None).await;
        }
        Outcome { storage_took_it }
    }

    /// Every case of `grant`, eight at a time. Returns (cases, taken by storage).
    async fn all(&self, grant: Grant, cases: &[Case]) -> (usize, usize) {
        let cases: Vec<&Case> = cases.iter().filter(|c| self.strict || !c.signature).collect();
        let outcomes: Vec<Outcome> =
            futures::stream::iter(cases.iter().enumerate()).map(|(n, case)| self.case(grant, n, case)).buffer_unordered(8).collect().await;
        (outcomes.len(), outcomes.iter().filter(|o| o.storage_took_it).count())
    }
}

/// Every route that takes a path or name, with hostile ones: each is
/// refused (400 or 404) and nothing of `sys/*` comes back.
async fn hostile_routes(server: &TestServer, user: &str, id: &str, run: &str) -> usize {
    let hostile = [
        "../../sys/session-secret",
        "..%2F..%2Fsys%2Fsession-secret",
        "/sys/session-secret",
        "files/../../../sys/session-secret",
        "%2e%2e/%2e%2e/sys/session-secret",
        "./../sys/admin-claimed",
        "..\\..\\sys\\session-secret",
    ];
    let refused = [StatusCode::BAD_REQUEST, StatusCode::NOT_FOUND];
    let mut count = 0;
    for path in hostile {
        let query = urlencode(path);
        let answers = [
            ("download", server.get(&format!("/api/v1/datasets/{id}/download?path={query}"), Some(user)).await),
            ("delete", server.call(Method::DELETE, &format!("/api/v1/datasets/{id}/files?path={query}"), Some(user), None).await),
            (
                "labels",
                server
                    .call(Method::PUT, &format!("/api/v1/datasets/{id}/labels"), Some(user), Some(json!({"path": path, "labels": []})))
                    .await,
            ),
            (
                "upload",
                server
                    .post(&format!("/api/v1/datasets/{id}/uploads"), Some(user), json!({"path": path, "size": 5, "md5": md5_b64(b"hello")}))
                    .await,
            ),
            (
                "artifact upload",
                server
                    .post(
                        &format!("/api/v1/datasets/{id}/runs/{run}/rounds/1/artifacts"),
                        Some(user),
                        json!({"name": path, "size": 5, "md5": md5_b64(b"hello")}),
                    )
                    .await,
            ),
            ("artifact download", server.get(&format!("/api/v1/datasets/{id}/runs/{run}/rounds/1/artifacts/{query}"), Some(user)).await),
            ("thumbnails", server.post(&format!("/api/v1/datasets/{id}/thumbnails"), Some(user), json!({"paths": [path]})).await),
        ];
        // A name with `..`, `.`, empty segments or backslashes is refused
        // everywhere; the others are literal names inside the dataset.
        let traversal = path.split('/').any(|s| s.is_empty() || s == "." || s == "..") || path.contains('\\');
        for (route, (status, body)) in answers {
            count += 1;
            let text = body.to_string();
            assert!(!status.is_server_error(), "{route} {path}: {status} {text}");
            if traversal {
                assert!(refused.contains(&status), "{route} {path}: {status} {text}");
            }
            let grants = status.is_success() && text.contains("X-Amz-Signature");
            assert!(!grants || (route.ends_with("upload") && !traversal), "{route} {path} granted a URL: {text}");
        }
    }
    count
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// Other people's upload ids, and one's own in another dataset: not found.
async fn foreign_uploads(server: &TestServer, ann: &str, ben: &str, ann_ds: &str, ben_ds: &str) -> usize {
    let declared = b"ann's bytes".to_vec();
    let (_, ticket) = server
        .post(
            &format!("/api/v1/datasets/{ann_ds}/uploads"),
            Some(ann),
            json!({"path": "ann.txt", "size": declared.len(), "md5": md5_b64(&declared)}),
        )
        .await;
    let upload = ticket["upload_id"].as_str().unwrap();
    let tries = [
        (Method::POST, format!("/api/v1/datasets/{ann_ds}/uploads/{upload}/complete"), ben),
        (Method::POST, format!("/api/v1/datasets/{ann_ds}/uploads/{upload}/parts"), ben),
        (Method::DELETE, format!("/api/v1/datasets/{ann_ds}/uploads/{upload}"), ben),
        (Method::POST, format!("/api/v1/datasets/{ben_ds}/uploads/{upload}/complete"), ben),
        (Method::DELETE, format!("/api/v1/datasets/{ben_ds}/uploads/{upload}"), ben),
        (Method::POST, format!("/api/v1/datasets/{ben_ds}/uploads/{upload}/complete"), ann),
        (Method::POST, format!("/api/v1/datasets/{ann_ds}/uploads/{}/complete", "0".repeat(32)), ann),
        (Method::POST, format!("/api/v1/datasets/{ann_ds}/uploads/..%2F..%2Fsys/complete"), ann),
    ];
    for (method, path, who) in &tries {
        let body = (path.ends_with("/parts")).then(|| json!({"parts": [{"part_number": 1, "md5": md5_b64(b"x")}]})).or(Some(json!({})));
        let (status, answer) = server.call(method.clone(), path, Some(who), body).await;
        assert!([StatusCode::NOT_FOUND, StatusCode::BAD_REQUEST].contains(&status), "{method} {path}: {status} {answer}");
    }
    // Ann's upload is untouched: its bytes still complete it.
    let put = &ticket["put"];
    let mut request = server.client.put(put["url"].as_str().unwrap()).body(declared);
    for header in put["headers"].as_array().unwrap() {
        request = request.header(header[0].as_str().unwrap(), header[1].as_str().unwrap());
    }
    assert!(request.send().await.unwrap().status().is_success());
    let (status, _) = server.post(&format!("/api/v1/datasets/{ann_ds}/uploads/{upload}/complete"), Some(ann), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    tries.len()
}

async fn matrix(server: TestServer, smtp: agora_testkit::SmtpServer, bucket: &str, strict: bool) -> usize {
    let root = verified_admin(&server, &smtp, "root").await;
    let (_, me) = server.get("/api/v1/me", Some(&root)).await;
    let admin = me["id"].as_str().unwrap_or_default().to_owned();
    assert!(!admin.is_empty(), "{me}");
    let ann = verified_user(&server, &smtp, "ann").await;
    let ben = verified_user(&server, &smtp, "ben").await;
    let (_, ds) = server.post("/api/v1/datasets", Some(&ann), json!({"name": "matrix"})).await;
    let id = ds["id"].as_str().unwrap().to_owned();
    let (_, other) = server.post("/api/v1/datasets", Some(&ben), json!({"name": "elsewhere"})).await;
    let other_id = other["id"].as_str().unwrap().to_owned();
    let elsewhere = format!("ds/{other_id}/files/private.txt");

    let run = Run { server: &server, user: &ann, id: &id, strict };
    let mut total = 0;
    for grant in [Grant::Put, Grant::Part] {
        let cases = cases(grant, &id, &other_id, bucket, &admin, &elsewhere);
        let (count, taken) = run.all(grant, &cases).await;
        println!(
            "{grant:?} URL cases on {}: {count}, {taken} taken by storage and then refused or exact",
            if strict { "the embedded endpoint" } else { "moto" }
        );
        total += count;
    }
    let (status, session) = server.post(&format!("/api/v1/datasets/{id}/runs"), Some(&ann), json!({"name": "fit"})).await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    let run_id = session["id"].as_str().unwrap();
    server.post(&format!("/api/v1/datasets/{id}/runs/{run_id}/rounds"), Some(&ann), json!({"round": 1, "metrics": {}})).await;
    total += hostile_routes(&server, &ann, &id, run_id).await;
    total += foreign_uploads(&server, &ann, &ben, &id, &other_id).await;

    // Nothing but declared bytes is in the dataset.
    let (_, files) = server.get(&format!("/api/v1/datasets/{id}/files?folder=matrix&limit=1000"), Some(&ann)).await;
    for file in files["files"].as_array().unwrap() {
        let path = file["path"].as_str().unwrap();
        let (_, link) = server.get(&format!("/api/v1/datasets/{id}/download?path={}", urlencode(path)), Some(&ann)).await;
        let fetched = server.client.get(link["url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
        let known = fetched.starts_with(b"Put case") || fetched.starts_with(b"Part case") || &fetched[..] == b"ann's bytes";
        assert!(known, "{path} holds bytes nobody declared ({} bytes)", fetched.len());
    }
    assert_eq!(server.get("/api/v1/admin/users", Some(&ann)).await.0, StatusCode::FORBIDDEN);
    server.stop().await.unwrap();
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tamper_matrix_writes_nothing_on_the_embedded_endpoint() {
    let (server, smtp) = server_with_mail_and(|args| args.multipart_threshold = Some(THRESHOLD)).await;
    let total = matrix(server, smtp, "agora", true).await;
    println!("tamper matrix on the embedded endpoint: {total} cases");
    assert!(total >= 200, "{total}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tamper_matrix_writes_nothing_on_moto() {
    let mut bucket = String::new();
    let (server, smtp) = server_on_moto_with_mail_and(|args| {
        args.multipart_threshold = Some(THRESHOLD);
        bucket = args.s3_bucket.clone().unwrap_or_default();
    })
    .await;
    let total = matrix(server, smtp, &bucket, false).await;
    println!("tamper matrix on moto: {total} cases");
}

/// Expired URLs write nothing: a single PUT and a part URL, one second
/// past their lifetime.
#[tokio::test]
async fn expired_urls_write_nothing() {
    let (server, smtp) = server_with_mail_and(|args| {
        args.multipart_threshold = Some(THRESHOLD);
        args.presign_expiry_secs = Some(1);
    })
    .await;
    let ann = verified_user(&server, &smtp, "ann").await;
    let (_, ds) = server.post("/api/v1/datasets", Some(&ann), json!({"name": "late"})).await;
    let id = ds["id"].as_str().unwrap().to_owned();
    let late = Case::new("expired");
    // Each case's URL is made and then used after it expired.
    let mut count = 0;
    for grant in [Grant::Put, Grant::Part] {
        let declared = declared_bytes(grant, 0);
        let uploads = format!("/api/v1/datasets/{id}/uploads");
        let mut start = json!({"path": format!("late-{grant:?}.bin"), "size": declared.len()});
        if grant == Grant::Put {
            start["md5"] = json!(md5_b64(&declared));
        }
        let (_, ticket) = server.post(&uploads, Some(&ann), start).await;
        let upload = format!("{uploads}/{}", ticket["upload_id"].as_str().unwrap());
        let (url, headers) = match grant {
            Grant::Put => (ticket["put"]["url"].as_str().unwrap().to_owned(), ticket["put"]["headers"].clone()),
            Grant::Part => {
                let (_, urls) = server
                    .post(&format!("{upload}/parts"), Some(&ann), json!({"parts": [{"part_number": 1, "md5": md5_b64(&declared)}]}))
                    .await;
                (urls[0]["url"].as_str().unwrap().to_owned(), urls[0]["headers"].clone())
            }
        };
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        let response = late.request(&server.client, &url, &headers, &declared).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{grant:?}: {}", response.text().await.unwrap());
        let (status, _) = server.post(&format!("{upload}/complete"), Some(&ann), json!({})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{grant:?}");
        count += 1;
    }
    println!("expired URL cases: {count}");
}
