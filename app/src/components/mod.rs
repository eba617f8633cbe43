//! Small building blocks shared by pages.

pub mod empty_state;
pub mod error_view;
pub mod form;
pub mod live;
pub mod loading;
pub mod plot;
pub mod status;
