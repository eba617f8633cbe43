//! Server functions for the dataset pages.

use agora_model::accounts::JobView;
use agora_model::datasets::{ActivityEntry, DatasetChange, DatasetView, NewDataset, ShareRequest, TransferOffer};
use agora_model::files::{
    BulkLabelsRequest, BulkLabelsResult, DownloadLink, FilePage, FileQuery, FileView, LabelsRequest, PartUrl, PartUrlsRequest,
    ThumbnailLink, ThumbnailsRequest, UploadRequest, UploadTicket,
};
use agora_model::ApiError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::server::{fail, request};

#[server(prefix = "/api/fn", endpoint = "list_datasets")]
pub async fn list_datasets() -> Result<Vec<DatasetView>, ApiError> {
    let (hub, caller) = request().await?;
    hub.list_datasets(&caller).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "create_dataset", input = Json)]
pub async fn create_dataset(dataset: NewDataset) -> Result<DatasetView, ApiError> {
    let (hub, caller) = request().await?;
    hub.create_dataset(&caller, dataset).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "dataset")]
pub async fn dataset(id: String) -> Result<DatasetView, ApiError> {
    let (hub, caller) = request().await?;
    hub.dataset(&caller, &id).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "update_dataset", input = Json)]
pub async fn update_dataset(id: String, change: DatasetChange) -> Result<DatasetView, ApiError> {
    let (hub, caller) = request().await?;
    hub.update_dataset(&caller, &id, change).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "share_dataset", input = Json)]
pub async fn share_dataset(id: String, share: ShareRequest) -> Result<DatasetView, ApiError> {
    let (hub, caller) = request().await?;
    hub.share_dataset(&caller, &id, share).await.map_err(fail)
}

/// Offers the dataset to `username`; it is theirs once they accept.
#[server(prefix = "/api/fn", endpoint = "transfer_dataset")]
pub async fn transfer_dataset(id: String, username: String) -> Result<DatasetView, ApiError> {
    let (hub, caller) = request().await?;
    hub.transfer_dataset(&caller, &id, agora_model::datasets::TransferRequest { username }).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "accept_transfer")]
pub async fn accept_transfer(id: String) -> Result<DatasetView, ApiError> {
    let (hub, caller) = request().await?;
    hub.accept_transfer(&caller, &id).await.map_err(fail)
}

/// Declines an offer (its recipient) or withdraws it (the owner).
#[server(prefix = "/api/fn", endpoint = "end_transfer")]
pub async fn end_transfer(id: String) -> Result<(), ApiError> {
    let (hub, caller) = request().await?;
    hub.end_transfer(&caller, &id).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "transfer_offers")]
pub async fn transfer_offers() -> Result<Vec<TransferOffer>, ApiError> {
    let (hub, caller) = request().await?;
    hub.transfer_offers(&caller).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "delete_dataset")]
pub async fn delete_dataset(id: String) -> Result<JobView, ApiError> {
    let (hub, caller) = request().await?;
    hub.delete_dataset(&caller, &id).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "list_files", input = Json)]
pub async fn list_files(id: String, query: FileQuery) -> Result<FilePage, ApiError> {
    let (hub, caller) = request().await?;
    hub.list_files(&caller, &id, query).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "start_upload", input = Json)]
pub async fn start_upload(id: String, upload: UploadRequest) -> Result<UploadTicket, ApiError> {
    let (hub, caller) = request().await?;
    hub.start_upload(&caller, &id, upload).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "pending_uploads")]
pub async fn pending_uploads(id: String) -> Result<Vec<UploadTicket>, ApiError> {
    let (hub, caller) = request().await?;
    hub.pending_uploads(&caller, &id).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "part_urls", input = Json)]
pub async fn part_urls(id: String, upload_id: String, parts: PartUrlsRequest) -> Result<Vec<PartUrl>, ApiError> {
    let (hub, caller) = request().await?;
    hub.part_urls(&caller, &id, &upload_id, parts).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "cancel_upload")]
pub async fn cancel_upload(id: String, upload_id: String) -> Result<(), ApiError> {
    let (hub, caller) = request().await?;
    hub.cancel_upload(&caller, &id, &upload_id).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "complete_upload")]
pub async fn complete_upload(id: String, upload_id: String) -> Result<FileView, ApiError> {
    let (hub, caller) = request().await?;
    hub.complete_upload(&caller, &id, &upload_id).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "file_download")]
pub async fn file_download(id: String, path: String) -> Result<DownloadLink, ApiError> {
    let (hub, caller) = request().await?;
    hub.download(&caller, &id, &path).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "file_preview_link")]
pub async fn file_preview_link(id: String, path: String) -> Result<DownloadLink, ApiError> {
    let (hub, caller) = request().await?;
    hub.preview_link(&caller, &id, &path).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "thumbnails", input = Json)]
pub async fn thumbnails(id: String, files: ThumbnailsRequest) -> Result<Vec<ThumbnailLink>, ApiError> {
    let (hub, caller) = request().await?;
    hub.thumbnails(&caller, &id, files).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "delete_file")]
pub async fn delete_file(id: String, path: String) -> Result<(), ApiError> {
    let (hub, caller) = request().await?;
    hub.delete_file(&caller, &id, &path).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "set_file_labels", input = Json)]
pub async fn set_file_labels(id: String, labels: LabelsRequest) -> Result<FileView, ApiError> {
    let (hub, caller) = request().await?;
    hub.set_labels(&caller, &id, labels).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "bulk_labels", input = Json)]
pub async fn bulk_labels(id: String, change: BulkLabelsRequest) -> Result<BulkLabelsResult, ApiError> {
    let (hub, caller) = request().await?;
    hub.bulk_labels(&caller, &id, change).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "dataset_activity")]
pub async fn dataset_activity(id: String) -> Result<Vec<ActivityEntry>, ApiError> {
    let (hub, caller) = request().await?;
    hub.dataset_activity(&caller, &id).await.map_err(fail)
}
