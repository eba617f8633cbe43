//! `/api/v1/datasets/…`: create, list, view, change, share, transfer, delete.

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use utoipa::OpenApi;

use agora_app::server::RequestCaller;
use agora_model::accounts::JobView;
use agora_model::datasets::{ActivityEntry, DatasetChange, DatasetView, NewDataset, ShareRequest, TransferOffer, TransferRequest};
use agora_model::files::{
    BulkLabelsRequest, BulkLabelsResult, DownloadLink, FilePage, FileQuery, FileSort, FileView, LabelsRequest, Manifest, PartUrl,
    PartUrlsRequest, ThumbnailLink, ThumbnailsRequest, UploadRequest, UploadTicket,
};

use super::{Answer, Body, ErrorBody};

#[derive(OpenApi)]
#[openapi(
    paths(
        list, create, show, update, delete, share, transfer, accept_transfer, end_transfer, transfer_offers, start_upload, pending_uploads, part_urls, complete_upload, cancel_upload, download, files, delete_file, set_labels, bulk_labels, activity, events, thumbnails, manifest),
    tags((name = "datasets", description = "Datasets, their members and visibility"))
)]
pub struct DatasetsApi;

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/datasets", get(list).post(create))
        .route("/datasets/{id}", get(show).patch(update).delete(delete))
        .route("/datasets/{id}/members", post(share))
        .route("/datasets/{id}/transfer", post(transfer).delete(end_transfer))
        .route("/datasets/{id}/transfer/accept", post(accept_transfer))
        .route("/me/transfer-offers", get(transfer_offers))
        .route("/datasets/{id}/uploads", post(start_upload).get(pending_uploads))
        .route("/datasets/{id}/uploads/{upload_id}", axum::routing::delete(cancel_upload))
        .route("/datasets/{id}/uploads/{upload_id}/parts", post(part_urls))
        .route("/datasets/{id}/uploads/{upload_id}/complete", post(complete_upload))
        .route("/datasets/{id}/download", get(download))
        .route("/datasets/{id}/files", get(files).delete(delete_file))
        .route("/datasets/{id}/labels", put(set_labels))
        .route("/datasets/{id}/labels/bulk", post(bulk_labels))
        .route("/datasets/{id}/activity", get(activity))
        .route("/datasets/{id}/events", get(events))
        .route("/datasets/{id}/thumbnails", post(thumbnails))
        .route("/datasets/{id}/manifest", get(manifest))
}

/// The datasets the caller may see: their own, shared with them, public.
#[utoipa::path(get, operation_id = "list_datasets", path = "/datasets", tag = "datasets", security((), ("bearer" = [])), responses((status = 200, body = Vec<DatasetView>)))]
async fn list(RequestCaller(hub, caller): RequestCaller) -> Answer<Json<Vec<DatasetView>>> {
    Ok(Json(hub.list_datasets(&caller).await?))
}

/// Creates a dataset owned by the caller (an API key needs read-write access to all datasets).
#[utoipa::path(post, operation_id = "create_dataset", path = "/datasets", tag = "datasets", security(("bearer" = [])), request_body = NewDataset, responses(
    (status = 201, body = DatasetView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "quota reached or key without write access")))]
async fn create(RequestCaller(hub, caller): RequestCaller, Body(request): Body<NewDataset>) -> Answer<(StatusCode, Json<DatasetView>)> {
    Ok((StatusCode::CREATED, Json(hub.create_dataset(&caller, request).await?)))
}

/// One dataset; "not found" also when the caller may not see it.
#[utoipa::path(get, operation_id = "get_dataset", path = "/datasets/{id}", tag = "datasets", security((), ("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 200, body = DatasetView), (status = 404, body = ErrorBody)))]
async fn show(RequestCaller(hub, caller): RequestCaller, Path(id): Path<String>) -> Answer<Json<DatasetView>> {
    Ok(Json(hub.dataset(&caller, &id).await?))
}

/// Renames or describes (editors), or changes visibility (owner).
#[utoipa::path(patch, operation_id = "update_dataset", path = "/datasets/{id}", tag = "datasets", security(("bearer" = [])), params(("id" = String, Path)), request_body = DatasetChange,
    responses((status = 200, body = DatasetView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update(
    RequestCaller(hub, caller): RequestCaller,
    Path(id): Path<String>,
    Body(change): Body<DatasetChange>,
) -> Answer<Json<DatasetView>> {
    Ok(Json(hub.update_dataset(&caller, &id, change).await?))
}

/// Deletes the dataset (owner): it disappears at once; a background job
/// removes its objects, with progress at `GET /jobs/{id}`.
#[utoipa::path(delete, operation_id = "delete_dataset", path = "/datasets/{id}", tag = "datasets", security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 202, body = JobView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete(RequestCaller(hub, caller): RequestCaller, Path(id): Path<String>) -> Answer<(StatusCode, Json<JobView>)> {
    Ok((StatusCode::ACCEPTED, Json(hub.delete_dataset(&caller, &id).await?)))
}

/// Gives someone a role (viewer, editor), changes it, or removes them (`role: null`).
#[utoipa::path(post, operation_id = "share_dataset", path = "/datasets/{id}/members", tag = "datasets", security(("bearer" = [])), params(("id" = String, Path)), request_body = ShareRequest,
    responses((status = 200, body = DatasetView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn share(
    RequestCaller(hub, caller): RequestCaller,
    Path(id): Path<String>,
    Body(request): Body<ShareRequest>,
) -> Answer<Json<DatasetView>> {
    Ok(Json(hub.share_dataset(&caller, &id, request).await?))
}

/// Offers the dataset to someone (owner or administrator). Nothing changes
/// until they accept (`POST …/transfer/accept`); offering it to someone else
/// replaces the offer. `400` on `username` for an unknown account, the
/// current owner, or someone who owns as many datasets as one person may.
#[utoipa::path(post, path = "/datasets/{id}/transfer", tag = "datasets", security(("bearer" = [])), params(("id" = String, Path)), request_body = TransferRequest,
    responses((status = 200, body = DatasetView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn transfer(
    RequestCaller(hub, caller): RequestCaller,
    Path(id): Path<String>,
    Body(request): Body<TransferRequest>,
) -> Answer<Json<DatasetView>> {
    Ok(Json(hub.transfer_dataset(&caller, &id, request).await?))
}

/// The person the dataset was offered to takes it over (a session); the
/// previous owner stays as an editor. `404` when it is not on offer to the
/// caller; `400` on `dataset` when they own as many datasets as one person may.
#[utoipa::path(post, path = "/datasets/{id}/transfer/accept", tag = "datasets", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = DatasetView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn accept_transfer(RequestCaller(hub, caller): RequestCaller, Path(id): Path<String>) -> Answer<Json<DatasetView>> {
    Ok(Json(hub.accept_transfer(&caller, &id).await?))
}

/// Ends the offer: the recipient declines, or the owner withdraws it.
#[utoipa::path(delete, path = "/datasets/{id}/transfer", tag = "datasets", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn end_transfer(RequestCaller(hub, caller): RequestCaller, Path(id): Path<String>) -> Answer<StatusCode> {
    hub.end_transfer(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Datasets offered to the caller, newest first.
#[utoipa::path(get, path = "/me/transfer-offers", tag = "datasets", security(("bearer" = [])),
    responses((status = 200, body = Vec<TransferOffer>), (status = 401, body = ErrorBody)))]
async fn transfer_offers(RequestCaller(hub, caller): RequestCaller) -> Answer<Json<Vec<TransferOffer>>> {
    Ok(Json(hub.transfer_offers(&caller).await?))
}

/// Starts an upload: checks rights, name, size and labels, and answers with
/// where to send the bytes (straight to storage, never through Agora). Below
/// the multipart threshold that is one presigned PUT in `put` (send its
/// headers exactly as given); at or above it, `multipart` says how to cut the
/// file, and `…/parts` gives each part's URL.
#[utoipa::path(post, path = "/datasets/{id}/uploads", tag = "datasets", security(("bearer" = [])), params(("id" = String, Path)), request_body = UploadRequest,
    responses((status = 201, body = UploadTicket), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody, description = "the path exists; choose on_conflict")))]
async fn start_upload(
    RequestCaller(hub, caller): RequestCaller,
    Path(id): Path<String>,
    Body(request): Body<UploadRequest>,
) -> Answer<(StatusCode, Json<UploadTicket>)> {
    Ok((StatusCode::CREATED, Json(hub.start_upload(&caller, &id, request).await?)))
}

/// The caller's unfinished uploads to this dataset, with fresh URLs or the
/// parts storage holds already: how a client resumes after a restart or on
/// another machine.
#[utoipa::path(get, path = "/datasets/{id}/uploads", tag = "datasets", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Vec<UploadTicket>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn pending_uploads(RequestCaller(hub, caller): RequestCaller, Path(id): Path<String>) -> Answer<Json<Vec<UploadTicket>>> {
    Ok(Json(hub.pending_uploads(&caller, &id).await?))
}

/// Presigned PUT URLs for parts of a multipart upload (1 to 100 per request).
/// Part `n` is bytes `(n-1)·part_size` up to `n·part_size` of the file; ask
/// again for a part whose URL expired.
#[utoipa::path(post, path = "/datasets/{id}/uploads/{upload_id}/parts", tag = "datasets", security(("bearer" = [])),
    params(("id" = String, Path), ("upload_id" = String, Path)), request_body = PartUrlsRequest,
    responses((status = 200, body = Vec<PartUrl>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn part_urls(
    RequestCaller(hub, caller): RequestCaller,
    Path((id, upload_id)): Path<(String, String)>,
    Body(request): Body<PartUrlsRequest>,
) -> Answer<Json<Vec<PartUrl>>> {
    Ok(Json(hub.part_urls(&caller, &id, &upload_id, request).await?))
}

/// Cancels an upload and drops what storage holds of it.
#[utoipa::path(delete, path = "/datasets/{id}/uploads/{upload_id}", tag = "datasets", security(("bearer" = [])),
    params(("id" = String, Path), ("upload_id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
async fn cancel_upload(RequestCaller(hub, caller): RequestCaller, Path((id, upload_id)): Path<(String, String)>) -> Answer<StatusCode> {
    hub.cancel_upload(&caller, &id, &upload_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Completes an upload once the bytes are sent: checks what arrived (the
/// size; for multipart every part's size and the assembled ETag) and puts the
/// file in place. A wrong size discards a single-PUT upload (400); missing or
/// wrong parts are named and can be sent again.
#[utoipa::path(post, path = "/datasets/{id}/uploads/{upload_id}/complete", tag = "datasets", security(("bearer" = [])),
    params(("id" = String, Path), ("upload_id" = String, Path)),
    responses((status = 200, body = FileView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn complete_upload(
    RequestCaller(hub, caller): RequestCaller,
    Path((id, upload_id)): Path<(String, String)>,
) -> Answer<Json<FileView>> {
    Ok(Json(hub.complete_upload(&caller, &id, &upload_id).await?))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
struct DownloadQuery {
    /// The file's path in the dataset.
    path: Option<String>,
}

/// A presigned GET for one file (saved under its own name).
#[utoipa::path(get, path = "/datasets/{id}/download", tag = "datasets", security((), ("bearer" = [])), params(("id" = String, Path), DownloadQuery),
    responses((status = 200, body = DownloadLink), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn download(
    RequestCaller(hub, caller): RequestCaller,
    Path(id): Path<String>,
    Query(query): Query<DownloadQuery>,
) -> Answer<Json<DownloadLink>> {
    let path = query.path.ok_or_else(|| agora_model::ApiError::invalid("path", "is required: ?path=<the file's path>"))?;
    Ok(Json(hub.download(&caller, &id, &path).await?))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
struct FilesQuery {
    /// The folder to list (empty: the top).
    #[serde(default)]
    folder: String,
    /// Label filters separated by commas: `key=value` (that label) or `key`
    /// (any value); every one must match. Filters list matching files at
    /// any depth under the folder.
    labels: Option<String>,
    /// Part of the file name, any case.
    name: Option<String>,
    /// `name` (default), `size` or `modified`.
    sort: Option<String>,
    /// `true` for descending order.
    #[serde(default)]
    descending: bool,
    #[serde(default)]
    offset: usize,
    /// 1 to 1000 [default: 100].
    limit: Option<usize>,
}

impl FilesQuery {
    fn into_query(self) -> Result<FileQuery, agora_model::ApiError> {
        let sort = match self.sort.as_deref().unwrap_or("name") {
            "name" => FileSort::Name,
            "size" => FileSort::Size,
            "modified" => FileSort::Modified,
            other => return Err(agora_model::ApiError::invalid("sort", format!("must be name, size or modified, not {other:?}"))),
        };
        let labels = self.labels.unwrap_or_default().split(',').map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect();
        Ok(FileQuery {
            folder: self.folder,
            labels,
            name: self.name,
            sort,
            descending: self.descending,
            offset: self.offset,
            limit: self.limit,
        })
    }
}

/// One page of files, answered by the search index: without filters a
/// folder's files and sub-folders (with file counts); with label or name
/// filters every matching file under the folder. Sorted and paged, with the
/// labels of the matching files counted (facets).
#[utoipa::path(get, path = "/datasets/{id}/files", tag = "datasets", security((), ("bearer" = [])), params(("id" = String, Path), FilesQuery),
    responses((status = 200, body = FilePage), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn files(
    RequestCaller(hub, caller): RequestCaller,
    Path(id): Path<String>,
    Query(query): Query<FilesQuery>,
) -> Answer<Json<FilePage>> {
    Ok(Json(hub.list_files(&caller, &id, query.into_query()?).await?))
}

/// Adds and removes labels on up to 200 files (page through `…/files` with
/// a filter for more). Each file succeeds or fails on its own; failures come
/// back with the reason (e.g. a file already at S3's 10 tags).
#[utoipa::path(post, path = "/datasets/{id}/labels/bulk", tag = "datasets", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = BulkLabelsRequest,
    responses((status = 200, body = BulkLabelsResult), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn bulk_labels(
    RequestCaller(hub, caller): RequestCaller,
    Path(id): Path<String>,
    Body(request): Body<BulkLabelsRequest>,
) -> Answer<Json<BulkLabelsResult>> {
    Ok(Json(hub.bulk_labels(&caller, &id, request).await?))
}

/// Deletes one file (`?path=`), with its thumbnail. Editors and owners.
#[utoipa::path(delete, path = "/datasets/{id}/files", tag = "datasets", security(("bearer" = [])), params(("id" = String, Path), DownloadQuery),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_file(
    RequestCaller(hub, caller): RequestCaller,
    Path(id): Path<String>,
    Query(query): Query<DownloadQuery>,
) -> Answer<StatusCode> {
    let path = query.path.ok_or_else(|| agora_model::ApiError::invalid("path", "name the file: ?path=folder/name"))?;
    hub.delete_file(&caller, &id, &path).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces a file's labels (its S3 object tags). AWS's tag rules apply: at
/// most 10 labels, keys up to 128 and values up to 256 characters, no `aws:`.
#[utoipa::path(put, path = "/datasets/{id}/labels", tag = "datasets", security(("bearer" = [])), params(("id" = String, Path)), request_body = LabelsRequest,
    responses((status = 200, body = FileView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn set_labels(
    RequestCaller(hub, caller): RequestCaller,
    Path(id): Path<String>,
    Body(request): Body<LabelsRequest>,
) -> Answer<Json<FileView>> {
    Ok(Json(hub.set_labels(&caller, &id, request).await?))
}

/// Presigned links to the thumbnails (≤ 256 px JPEG) of image files, made
/// in the background after upload; a link answers 404 until its thumbnail
/// exists. At most 200 paths.
#[utoipa::path(post, path = "/datasets/{id}/thumbnails", tag = "datasets", security((), ("bearer" = [])), params(("id" = String, Path)),
    request_body = ThumbnailsRequest, responses((status = 200, body = Vec<ThumbnailLink>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn thumbnails(
    RequestCaller(hub, caller): RequestCaller,
    Path(id): Path<String>,
    Body(request): Body<ThumbnailsRequest>,
) -> Answer<Json<Vec<ThumbnailLink>>> {
    Ok(Json(hub.thumbnails(&caller, &id, request).await?))
}

/// Server-sent events: a `changed` event (data: the dataset id) whenever
/// files, labels, members or the activity log change, on this node or
/// another; reload what you show. Keep-alive comments every 15 s. The
/// caller's right is checked again every 2 s: once it is gone (logged out,
/// key revoked, removed, dataset made private) a last `ended` event closes
/// the stream. At most 20 streams per account (or address) and 1,000 per
/// node by default; past that, 429.
#[utoipa::path(get, path = "/datasets/{id}/events", tag = "datasets", security((), ("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, content_type = "text/event-stream", description = "`event: changed` with the dataset id; `event: ended` when access ends"), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn events(RequestCaller(hub, caller): RequestCaller, Path(id): Path<String>) -> Answer<super::live::LiveResponse> {
    use axum::response::sse::Event;
    use tokio::sync::broadcast::error::RecvError;
    let (receiver, permit) = hub.watch_dataset(&caller, &id).await?;
    let watched = agora_core::live::Watched::Dataset(id.clone());
    let stream = futures::stream::unfold((receiver, id), |(mut receiver, id)| async move {
        loop {
            match receiver.recv().await {
                Ok(changed) if changed != id => continue,
                // Missed notices (a slow reader) still mean "reload".
                Ok(_) | Err(RecvError::Lagged(_)) => {
                    let event = Event::default().event("changed").data(id.clone());
                    return Some((Ok(event), (receiver, id)));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Ok(super::live::guarded(Box::pin(stream), hub, caller, watched, permit))
}

/// The dataset's 50 newest activity entries: who uploaded, labelled, shared
/// or changed what, and when.
#[utoipa::path(get, path = "/datasets/{id}/activity", tag = "datasets", security((), ("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Vec<ActivityEntry>), (status = 404, body = ErrorBody)))]
async fn activity(RequestCaller(hub, caller): RequestCaller, Path(id): Path<String>) -> Answer<Json<Vec<ActivityEntry>>> {
    Ok(Json(hub.dataset_activity(&caller, &id).await?))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
struct ManifestQuery {
    /// The folder to include (empty: the whole dataset).
    #[serde(default)]
    folder: String,
    /// `json` (default) or `curl` for a ready-to-run shell script.
    #[serde(default)]
    format: Option<String>,
}

/// Presigned GETs for every file under a folder, as JSON or as a `curl`
/// script (`sh manifest.sh` downloads into `./<dataset name>/`).
#[utoipa::path(get, path = "/datasets/{id}/manifest", tag = "datasets", security((), ("bearer" = [])), params(("id" = String, Path), ManifestQuery),
    responses((status = 200, body = Manifest), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody)))]
async fn manifest(
    RequestCaller(hub, caller): RequestCaller,
    Path(id): Path<String>,
    Query(query): Query<ManifestQuery>,
) -> Answer<axum::response::Response> {
    use axum::response::IntoResponse;
    let manifest = hub.manifest(&caller, &id, &query.folder).await?;
    match query.format.as_deref() {
        None | Some("json") => Ok(Json(manifest).into_response()),
        Some("curl") => Ok((
            [
                (axum::http::header::CONTENT_TYPE, "text/x-shellscript; charset=utf-8".to_string()),
                (axum::http::header::CONTENT_DISPOSITION, "attachment; filename=\"agora-download.sh\"".to_string()),
            ],
            manifest.curl_script(),
        )
            .into_response()),
        Some(other) => Err(agora_model::ApiError::invalid("format", format!("{other:?} is not json or curl")).into()),
    }
}
