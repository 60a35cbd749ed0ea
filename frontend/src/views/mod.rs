//! The page's pieces. Each reads the shared [`crate::page::PageState`] from context.

mod composer;
mod header;
mod log;
mod sidebar;

pub use composer::Composer;
pub use header::{RoomHeader, StatusBadge, TypingLine};
pub use log::MessageLog;
pub use sidebar::Sidebar;
