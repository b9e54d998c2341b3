//! Message buffers aligned to a page: the kernel copies page-aligned user memory fastest, zero-copy pins
//! whole pages, and RDMA memory registration (later) wants page alignment too. Done without `unsafe` by
//! over-allocating one page and slicing at the first page boundary.

/// Page size assumed for alignment (4 KiB on every platform linkbench targets).
pub const PAGE: usize = 4096;

/// A zero-filled, page-aligned byte buffer.
pub struct AlignedBuffer {
    storage: Vec<u8>,
    offset: usize,
    len: usize,
}

impl AlignedBuffer {
    /// A buffer of `len` bytes, each set to `fill`.
    pub fn new(len: usize, fill: u8) -> AlignedBuffer {
        let storage = vec![fill; len + PAGE];
        let offset = (PAGE - storage.as_ptr() as usize % PAGE) % PAGE;
        AlignedBuffer {
            storage,
            offset,
            len,
        }
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.storage[self.offset..self.offset + self.len]
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.storage[self.offset..self.offset + self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_start_on_a_page_and_have_the_asked_length() {
        for len in [1usize, 2, 4095, 4096, 65536, 131_072] {
            let mut b = AlignedBuffer::new(len, 7);
            assert_eq!(b.as_slice().as_ptr() as usize % PAGE, 0);
            assert_eq!(b.as_slice().len(), len);
            assert!(b.as_slice().iter().all(|&x| x == 7));
            b.as_mut_slice()[len - 1] = 1;
            assert_eq!(b.as_slice()[len - 1], 1);
        }
    }
}
