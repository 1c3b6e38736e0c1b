//! [`Repr`]: a whole PIM message, owned except for a Register's data packet, which is borrowed
//! from the received buffer.

use super::assert::Assert;
use super::bsr::{Bootstrap, CandidateRpAdv};
use super::cursor::Writer;
use super::header::{
    Error, Packet, HEADER_LEN, TYPE_ASSERT, TYPE_BOOTSTRAP, TYPE_CANDIDATE_RP_ADV, TYPE_HELLO,
    TYPE_JOIN_PRUNE, TYPE_REGISTER, TYPE_REGISTER_STOP, VERSION,
};
use super::hello::Hello;
use super::join_prune::JoinPrune;
use super::register::{Register, RegisterStop};

/// A PIM message of one of the types PIM-SM uses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Repr<'a> {
    /// Hello.
    Hello(Hello),
    /// Register, with its data packet borrowed.
    Register(Register<'a>),
    /// Register-Stop.
    RegisterStop(RegisterStop),
    /// Join/Prune.
    JoinPrune(JoinPrune),
    /// Bootstrap.
    Bootstrap(Bootstrap),
    /// Assert.
    Assert(Assert),
    /// Candidate-RP-Advertisement.
    CandidateRpAdv(CandidateRpAdv),
}

impl<'a> Repr<'a> {
    /// Read a message: lengths, version 2, checksum (by the type's rule), known type, body.
    pub fn parse<T: AsRef<[u8]>>(packet: &'a Packet<T>) -> Result<Repr<'a>, Error> {
        Self::parse_bytes(packet.as_ref())
    }

    /// [`Repr::parse`] on a byte slice (the IPv4 payload).
    pub fn parse_bytes(data: &'a [u8]) -> Result<Repr<'a>, Error> {
        let packet = Packet::new_checked(data)?;
        if packet.version() != VERSION {
            return Err(Error::BadVersion(packet.version()));
        }
        if !packet.verify_checksum() {
            return Err(Error::BadChecksum);
        }
        let body = &data[HEADER_LEN..];
        Ok(match packet.msg_type() {
            TYPE_HELLO => Repr::Hello(Hello::parse(body)?),
            TYPE_REGISTER => Repr::Register(Register::parse(body)?),
            TYPE_REGISTER_STOP => Repr::RegisterStop(RegisterStop::parse(body)?),
            TYPE_JOIN_PRUNE => Repr::JoinPrune(JoinPrune::parse(body)?),
            TYPE_BOOTSTRAP => Repr::Bootstrap(Bootstrap::parse(packet.reserved(), body)?),
            TYPE_ASSERT => Repr::Assert(Assert::parse(body)?),
            TYPE_CANDIDATE_RP_ADV => Repr::CandidateRpAdv(CandidateRpAdv::parse(body)?),
            other => return Err(Error::UnknownType(other)),
        })
    }

    /// The message type (`TYPE_*`).
    pub fn msg_type(&self) -> u8 {
        match self {
            Repr::Hello(_) => TYPE_HELLO,
            Repr::Register(_) => TYPE_REGISTER,
            Repr::RegisterStop(_) => TYPE_REGISTER_STOP,
            Repr::JoinPrune(_) => TYPE_JOIN_PRUNE,
            Repr::Bootstrap(_) => TYPE_BOOTSTRAP,
            Repr::Assert(_) => TYPE_ASSERT,
            Repr::CandidateRpAdv(_) => TYPE_CANDIDATE_RP_ADV,
        }
    }

    /// Bytes [`Repr::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
            + match self {
                Repr::Hello(m) => m.body_len(),
                Repr::Register(m) => m.body_len(),
                Repr::RegisterStop(m) => m.body_len(),
                Repr::JoinPrune(m) => m.body_len(),
                Repr::Bootstrap(m) => m.body_len(),
                Repr::Assert(m) => m.body_len(),
                Repr::CandidateRpAdv(m) => m.body_len(),
            }
    }

    /// Write the message with a valid checksum into the first `buffer_len()` bytes.
    ///
    /// # Panics
    /// If the buffer is shorter than `buffer_len()`, or a list is longer than its count field
    /// (see each type's `emit_body`).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let len = self.buffer_len();
        let buf = &mut packet.as_mut()[..len];
        buf.fill(0);
        let mut w = Writer::new(&mut buf[HEADER_LEN..]);
        match self {
            Repr::Hello(m) => m.emit_body(&mut w),
            Repr::Register(m) => m.emit_body(&mut w),
            Repr::RegisterStop(m) => m.emit_body(&mut w),
            Repr::JoinPrune(m) => m.emit_body(&mut w),
            Repr::Bootstrap(m) => m.emit_body(&mut w),
            Repr::Assert(m) => m.emit_body(&mut w),
            Repr::CandidateRpAdv(m) => m.emit_body(&mut w),
        }
        debug_assert_eq!(w.position() + HEADER_LEN, len);
        let mut msg = Packet::new_unchecked(buf);
        msg.set_version_type(VERSION, self.msg_type());
        if let Repr::Bootstrap(b) = self {
            msg.set_reserved(b.reserved());
        }
        msg.fill_checksum();
    }

    /// The message as a new buffer of `buffer_len()` bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut buf = vec![0u8; self.buffer_len()];
        self.emit(&mut Packet::new_unchecked(&mut buf[..]));
        buf
    }
}
