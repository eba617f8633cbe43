//! Rebuilding the index from the bucket.
