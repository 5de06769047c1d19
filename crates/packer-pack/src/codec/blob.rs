//! `blob`: the input's bytes, unchanged.

use super::{Decoded, PartInfo};

pub(super) fn copy(bytes: &[u8]) -> Decoded {
    Decoded {
        info: PartInfo::Bytes,
        bytes: bytes.to_vec(),
    }
}
