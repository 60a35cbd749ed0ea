//! The page's pieces. Each reads the shared [`crate::app::PageState`] from context.

mod composer;
mod header;
mod log;
mod sidebar;

pub use composer::Composer;
pub use header::{RoomHeader, StatusBadge, TypingLine};
pub use log::{LogView, MessageLog};
pub use sidebar::Sidebar;
