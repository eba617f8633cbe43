//! Dataset operations as a caller performs them, in the wire types.

use agora_model::accounts::JobView;
use agora_model::datasets::{ActivityEntry, DatasetChange, DatasetView, NewDataset, ShareRequest, TransferOffer, TransferRequest};
use agora_model::files::{
    BulkLabelsRequest, BulkLabelsResult, DownloadLink, FilePage, FileQuery, FileView, LabelsRequest, Manifest, PartUrl, PartUrlsRequest,
    ThumbnailLink, ThumbnailsRequest, UploadRequest, UploadTicket,
};
use agora_model::search::{SearchRequest, SearchResults};
use agora_model::ApiError;

use super::Hub;
use crate::auth::caller::Caller;

impl Hub {
    pub async fn create_dataset(&self, caller: &Caller, request: NewDataset) -> Result<DatasetView, ApiError> {
        let record = self.datasets().create(caller, request).await.map_err(|e| e.to_api())?;
        Ok(self.datasets().view(caller, &record).await)
    }

    pub async fn dataset(&self, caller: &Caller, id: &str) -> Result<DatasetView, ApiError> {
        let record = self.datasets().get(caller, id).await.map_err(|e| e.to_api())?;
        Ok(self.datasets().view(caller, &record).await)
    }

    pub async fn list_datasets(&self, caller: &Caller) -> Result<Vec<DatasetView>, ApiError> {
        let records = self.datasets().list(caller).await.map_err(|e| e.to_api())?;
        Ok(self.datasets().views(caller, &records).await)
    }

    pub async fn update_dataset(&self, caller: &Caller, id: &str, change: DatasetChange) -> Result<DatasetView, ApiError> {
        let record = self.datasets().update(caller, id, change).await.map_err(|e| e.to_api())?;
        Ok(self.datasets().view(caller, &record).await)
    }

    pub async fn share_dataset(&self, caller: &Caller, id: &str, request: ShareRequest) -> Result<DatasetView, ApiError> {
        let record = self.datasets().share(caller, id, request).await.map_err(|e| e.to_api())?;
        Ok(self.datasets().view(caller, &record).await)
    }

    /// Offers the dataset to someone; it is theirs once they accept.
    pub async fn transfer_dataset(&self, caller: &Caller, id: &str, request: TransferRequest) -> Result<DatasetView, ApiError> {
        let record = self.datasets().transfer(caller, id, request).await.map_err(|e| e.to_api())?;
        Ok(self.datasets().view(caller, &record).await)
    }

    pub async fn accept_transfer(&self, caller: &Caller, id: &str) -> Result<DatasetView, ApiError> {
        let record = self.datasets().accept_transfer(caller, id).await.map_err(|e| e.to_api())?;
        Ok(self.datasets().view(caller, &record).await)
    }

    /// Declines (the recipient) or withdraws (who manages it) an offer.
    pub async fn end_transfer(&self, caller: &Caller, id: &str) -> Result<(), ApiError> {
        self.datasets().end_transfer(caller, id).await.map_err(|e| e.to_api())
    }

    pub async fn transfer_offers(&self, caller: &Caller) -> Result<Vec<TransferOffer>, ApiError> {
        self.datasets().transfer_offers(caller).await.map_err(|e| e.to_api())
    }

    /// Hides the dataset at once and removes its objects in the background.
    pub async fn delete_dataset(&self, caller: &Caller, id: &str) -> Result<JobView, ApiError> {
        let job = self.datasets().delete(caller, id).await.map_err(|e| e.to_api())?;
        let datasets = self.datasets().clone();
        let job_id = job.id.clone();
        tokio::spawn(async move {
            if let Err(err) = datasets.run_deletion(&job_id).await {
                tracing::error!(job = %job_id, error = %err, "dataset deletion stopped; it resumes at the next start");
            }
        });
        Ok(job.view())
    }
}

impl Hub {
    pub async fn start_upload(&self, caller: &Caller, id: &str, request: UploadRequest) -> Result<UploadTicket, ApiError> {
        self.datasets().start_upload(caller, id, request).await.map_err(|e| e.to_api())
    }

    pub async fn complete_upload(&self, caller: &Caller, id: &str, upload_id: &str) -> Result<FileView, ApiError> {
        self.datasets().complete_upload(caller, id, upload_id).await.map_err(|e| e.to_api())
    }

    pub async fn pending_uploads(&self, caller: &Caller, id: &str) -> Result<Vec<UploadTicket>, ApiError> {
        self.datasets().pending_uploads(caller, id).await.map_err(|e| e.to_api())
    }

    pub async fn part_urls(&self, caller: &Caller, id: &str, upload_id: &str, request: PartUrlsRequest) -> Result<Vec<PartUrl>, ApiError> {
        self.datasets().part_urls(caller, id, upload_id, request).await.map_err(|e| e.to_api())
    }

    pub async fn cancel_upload(&self, caller: &Caller, id: &str, upload_id: &str) -> Result<(), ApiError> {
        self.datasets().cancel_upload(caller, id, upload_id).await.map_err(|e| e.to_api())
    }

    pub async fn list_files(&self, caller: &Caller, id: &str, query: FileQuery) -> Result<FilePage, ApiError> {
        self.datasets().list_files(caller, id, query).await.map_err(|e| e.to_api())
    }

    pub async fn set_labels(&self, caller: &Caller, id: &str, request: LabelsRequest) -> Result<FileView, ApiError> {
        self.datasets().set_labels(caller, id, &request.path, request.labels).await.map_err(|e| e.to_api())
    }

    pub async fn delete_file(&self, caller: &Caller, id: &str, path: &str) -> Result<(), ApiError> {
        self.datasets().delete_file(caller, id, path).await.map_err(|e| e.to_api())
    }

    pub async fn bulk_labels(&self, caller: &Caller, id: &str, request: BulkLabelsRequest) -> Result<BulkLabelsResult, ApiError> {
        self.datasets().bulk_labels(caller, id, request).await.map_err(|e| e.to_api())
    }

    /// Notices of changes to a dataset (other datasets' ids too: filter them).
    /// Dataset ids as they change, and the watcher's place among the
    /// node's live streams.
    pub async fn watch_dataset(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<(tokio::sync::broadcast::Receiver<String>, crate::live::StreamPermit), ApiError> {
        let changes = self.datasets().watch(caller, id).await.map_err(|e| e.to_api())?;
        Ok((changes, self.live().admit(caller)?))
    }

    pub async fn thumbnails(&self, caller: &Caller, id: &str, request: ThumbnailsRequest) -> Result<Vec<ThumbnailLink>, ApiError> {
        let links = self.datasets().thumbnails(caller, id, &request.paths).await.map_err(|e| e.to_api())?;
        Ok(links.into_iter().map(|(path, url)| ThumbnailLink { path, url }).collect())
    }

    /// Datasets and files the caller may read, matching the request.
    pub async fn search(&self, caller: &Caller, request: SearchRequest) -> Result<SearchResults, ApiError> {
        request.validate()?;
        let index = self.datasets().index().search().clone();
        let mut results = index.search(caller, request).await.map_err(|e| {
            tracing::error!(error = %e, "search failed");
            ApiError::internal()
        })?;
        results.indexing = index.rebuilding().is_some();
        Ok(results)
    }

    pub async fn dataset_activity(&self, caller: &Caller, id: &str) -> Result<Vec<ActivityEntry>, ApiError> {
        self.datasets().activity(caller, id).await.map_err(|e| e.to_api())
    }

    pub async fn manifest(&self, caller: &Caller, id: &str, folder: &str) -> Result<Manifest, ApiError> {
        self.datasets().manifest(caller, id, folder).await.map_err(|e| e.to_api())
    }

    pub async fn download(&self, caller: &Caller, id: &str, path: &str) -> Result<DownloadLink, ApiError> {
        self.datasets().download(caller, id, path, true).await.map_err(|e| e.to_api())
    }

    /// A link a browser may show inline and read ranges of (previews).
    pub async fn preview_link(&self, caller: &Caller, id: &str, path: &str) -> Result<DownloadLink, ApiError> {
        self.datasets().download(caller, id, path, false).await.map_err(|e| e.to_api())
    }
}
