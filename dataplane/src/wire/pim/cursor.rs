//! A bounds-checked reader and a writer over a byte slice, for the message bodies: every read
//! past the end is [`Error::Truncated`], never a panic, so a parser built on [`Reader`] keeps
//! the module's no-panic contract by construction.

use std::net::Ipv4Addr;

use super::header::Error;

/// Reads big-endian fields from the front of a slice.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.data.len()
    }

    /// Everything has been read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if n > self.data.len() {
            return Err(Error::Truncated);
        }
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        Ok(head)
    }

    /// Whatever is left.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.take(1)?[0])
    }

    /// A big-endian u16.
    pub fn u16(&mut self) -> Result<u16, Error> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// A big-endian u32.
    pub fn u32(&mut self) -> Result<u32, Error> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Four bytes as an IPv4 address.
    pub fn ipv4(&mut self) -> Result<Ipv4Addr, Error> {
        let b = self.take(4)?;
        Ok(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
    }
}

/// Writes big-endian fields into a slice, front to back.
///
/// Panics when a write runs past the end: emitters size their buffer with `buffer_len()` first,
/// so that is a bug of the emitter, never a property of input.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut [u8],
    at: usize,
}

impl<'a> Writer<'a> {
    /// A writer at the start of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Writer<'a> {
        Writer { buf, at: 0 }
    }

    /// Bytes written so far.
    pub fn position(&self) -> usize {
        self.at
    }

    /// Write `bytes`.
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.buf[self.at..self.at + bytes.len()].copy_from_slice(bytes);
        self.at += bytes.len();
    }

    /// Write one byte.
    pub fn u8(&mut self, value: u8) {
        self.bytes(&[value]);
    }

    /// Write a big-endian u16.
    pub fn u16(&mut self, value: u16) {
        self.bytes(&value.to_be_bytes());
    }

    /// Write a big-endian u32.
    pub fn u32(&mut self, value: u32) {
        self.bytes(&value.to_be_bytes());
    }

    /// Write an IPv4 address.
    pub fn ipv4(&mut self, addr: Ipv4Addr) {
        self.bytes(&addr.octets());
    }
}

/// `n` as a u16 count field.
///
/// # Panics
/// If `n` is above 65,535: emitters document that limit (split a Join/Prune with
/// `JoinPrune::split` first).
pub fn count16(n: usize) -> u16 {
    u16::try_from(n).expect("more than 65,535 entries in one PIM list")
}

/// `n` as a u8 count field.
///
/// # Panics
/// If `n` is above 255.
pub fn count8(n: usize) -> u8 {
    u8::try_from(n).expect("more than 255 entries in one PIM list")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_stops_at_the_end() {
        let mut r = Reader::new(&[1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(r.u8(), Ok(1));
        assert_eq!(r.u16(), Ok(0x0203));
        assert_eq!(r.take(5), Err(Error::Truncated));
        assert_eq!(r.remaining(), 4);
        assert_eq!(r.ipv4(), Ok(Ipv4Addr::new(4, 5, 6, 7)));
        assert!(r.is_empty());
        assert_eq!(r.u8(), Err(Error::Truncated));
        assert_eq!(r.take(usize::MAX), Err(Error::Truncated));
        assert_eq!(r.rest(), &[] as &[u8]);
    }

    #[test]
    fn writer_writes_in_order() {
        let mut buf = [0u8; 11];
        let mut w = Writer::new(&mut buf);
        w.u8(1);
        w.u16(0x0203);
        w.u32(0x0405_0607);
        w.ipv4(Ipv4Addr::new(8, 9, 10, 11));
        assert_eq!(w.position(), 11);
        assert_eq!(buf, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    }
}
