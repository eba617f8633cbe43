//! Handing a dataset to someone else: the owner offers it, and it becomes
//! the other person's only when they accept (within their own limit of
//! owned datasets). Until then nothing changes: the offer grants no access,
//! and either side can end it (the owner withdraws, the recipient
//! declines). Offering it to someone else replaces the offer.
//!
//! The offer lives in the manifest (`offered_to`); a marker
//! `sys/transfer-offers/{user}/{id}` lets the recipient list their offers.
//! A marker whose manifest no longer names them is stale and ignored.
//! Deleting an account ends the offers made to it.

use agora_model::datasets::{TransferOffer, TransferRequest};
use agora_model::sharing::{Member, MemberRole};
use agora_model::ApiError;
use bytes::Bytes;

use super::{authorize, unix_now, DatasetError, DatasetRecord, Datasets, Need, Offer};
use crate::auth::caller::Caller;
use crate::storage::PutOptions;

const AT_LIMIT: &str = "the most allowed per person (AGORA_MAX_DATASETS_PER_USER)";

fn offer_marker(user: &str, id: &str) -> String {
    format!("sys/transfer-offers/{user}/{id}")
}

impl Datasets {
    /// Offers the dataset to `request.username` (owner or administrator).
    pub async fn transfer(&self, caller: &Caller, id: &str, request: TransferRequest) -> Result<DatasetRecord, DatasetError> {
        let user = self.find_user(&request.username).await?;
        if let Some(owned) = self.at_owned_limit(&user.id).await? {
            let why = format!("{} owns {owned} datasets, {AT_LIMIT}", user.username);
            return Err(DatasetError::Api(ApiError::invalid("username", why)));
        }
        let offer = Offer { user_id: user.id.clone(), at: unix_now() };
        // The change may run again (a concurrent write): the last run counts.
        let replaced = std::sync::Mutex::new(None);
        let offered = self
            .modify(caller, id, Need::Manage, |record| {
                if user.id == record.owner {
                    return Err(ApiError::invalid("username", "this person owns the dataset already"));
                }
                *replaced.lock().unwrap_or_else(|e| e.into_inner()) =
                    record.offered_to.replace(offer.clone()).filter(|old| old.user_id != user.id);
                Ok(())
            })
            .await?;
        self.storage.put(&offer_marker(&user.id, id), Bytes::new(), PutOptions::default()).await?;
        if let Some(old) = replaced.into_inner().unwrap_or_else(|e| e.into_inner()) {
            self.storage.delete(&offer_marker(&old.user_id, id)).await?;
        }
        self.record(caller, id, format!("offered the dataset to {}; it is theirs once they accept", user.username)).await;
        Ok(offered)
    }

    /// The recipient takes the dataset over; the previous owner stays as
    /// an editor.
    pub async fn accept_transfer(&self, caller: &Caller, id: &str) -> Result<DatasetRecord, DatasetError> {
        let me = caller.require_session().map_err(DatasetError::Api)?.clone();
        if let Some(owned) = self.at_owned_limit(&me.id).await? {
            return Err(DatasetError::Api(ApiError::invalid("dataset", format!("you own {owned} datasets, {AT_LIMIT}"))));
        }
        let moved = self
            .modify_checked(
                id,
                |record| offered_to(record, &me.id),
                |record| {
                    let previous = std::mem::replace(&mut record.owner, me.id.clone());
                    record.offered_to = None;
                    record.members.retain(|m| m.user_id != me.id && m.user_id != previous);
                    record.members.push(Member { user_id: previous, role: MemberRole::Editor });
                    Ok(())
                },
            )
            .await?;
        self.storage.delete(&offer_marker(&me.id, id)).await?;
        self.record(caller, id, "accepted the dataset and owns it now".to_owned()).await;
        Ok(moved)
    }

    /// Ends an offer: the recipient declines, or whoever manages the
    /// dataset withdraws it. Ending an offer that is not there succeeds.
    pub async fn end_transfer(&self, caller: &Caller, id: &str) -> Result<(), DatasetError> {
        let me = caller.require_user().map_err(DatasetError::Api)?.id.clone();
        let ended = std::sync::Mutex::new(None);
        self.modify_checked(
            id,
            |record| {
                if offered_to(record, &me).is_ok() {
                    Ok(())
                } else {
                    authorize(caller, &record.resource(), Need::Manage)
                }
            },
            |record| {
                *ended.lock().unwrap_or_else(|e| e.into_inner()) = record.offered_to.take();
                Ok(())
            },
        )
        .await?;
        if let Some(offer) = ended.into_inner().unwrap_or_else(|e| e.into_inner()) {
            self.storage.delete(&offer_marker(&offer.user_id, id)).await?;
            let what = if offer.user_id == me { "declined the dataset" } else { "withdrew the offer of the dataset" };
            self.record(caller, id, what.to_owned()).await;
        }
        Ok(())
    }

    /// The datasets offered to the caller, newest first.
    pub async fn transfer_offers(&self, caller: &Caller) -> Result<Vec<TransferOffer>, DatasetError> {
        let me = caller.require_session().map_err(DatasetError::Api)?.id.clone();
        let markers = self.storage.list_all(&format!("sys/transfer-offers/{me}/")).await?;
        let ids: Vec<&str> = markers.iter().filter_map(|m| m.key.rsplit('/').next()).collect();
        let loaded = futures::future::join_all(ids.iter().map(|id| self.load(id))).await;
        let mut offers = Vec::new();
        for record in loaded.into_iter().flatten() {
            let Some(offer) = record.offered_to.as_ref().filter(|o| o.user_id == me) else { continue };
            let from = self.accounts.get(&record.owner).await.map(|u| u.username).unwrap_or_else(|_| "(deleted account)".into());
            offers.push(TransferOffer { dataset_id: record.id.clone(), dataset_name: record.name.clone(), from, offered_at: offer.at });
        }
        offers.sort_by_key(|o| std::cmp::Reverse(o.offered_at));
        Ok(offers)
    }

    /// For a deleted account: the offers made to it end.
    pub(super) async fn drop_offers_to(&self, user_id: &str) -> Result<(), DatasetError> {
        for marker in self.storage.list_all(&format!("sys/transfer-offers/{user_id}/")).await? {
            let Some(id) = marker.key.rsplit('/').next() else { continue };
            let ended = self
                .modify_checked(
                    id,
                    |record| offered_to(record, user_id),
                    |record| {
                        record.offered_to = None;
                        Ok(())
                    },
                )
                .await;
            match ended {
                Ok(_) | Err(DatasetError::Api(_)) => {}
                Err(other) => return Err(other),
            }
            self.storage.delete(&marker.key).await?;
        }
        Ok(())
    }
}

/// Whether the dataset is on offer to `user` ("not found" otherwise: an
/// offer grants no sight of a private dataset).
fn offered_to(record: &DatasetRecord, user: &str) -> Result<(), ApiError> {
    match &record.offered_to {
        Some(offer) if offer.user_id == user => Ok(()),
        _ => Err(ApiError::not_found("no such dataset, or it is not on offer to you")),
    }
}
