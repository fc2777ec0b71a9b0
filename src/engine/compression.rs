//! The state of a context's `CompressionStream`s and `DecompressionStream`s (the
//! Compression Streams standard: `deflate` is zlib, RFC 1950; `deflate-raw` is RFC 1951;
//! `gzip` is one RFC 1952 member), by the number the JavaScript stream holds. Deflate is
//! flate2's miniz_oxide (pure Rust); the gzip framing is here. Each step makes at most
//! [`PIECE`] bytes of output (plus what one small slice of input can expand to), so a
//! small input that inflates to gigabytes comes out piece by piece, never as one
//! allocation.

use std::collections::HashMap;

use flate2::{Compress, Compression, Crc, Decompress, FlushCompress, FlushDecompress, Status};

/// The output one step aims for (it may pass it by what [`SLICE`] bytes inflate to).
pub(crate) const PIECE: usize = 64 * 1024;
/// Input is fed to an inflater at most this much at a time (deflate expands 1032:1 at
/// most, so one slice makes at most about 1 MiB).
const SLICE: usize = 1024;
/// How many streams one context keeps open at once (each holds up to ~300 KiB).
pub(crate) const MAX_OPEN: usize = 1024;

/// A format of the standard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// `deflate`: a zlib stream.
    Deflate,
    /// `deflate-raw`: bare deflate.
    DeflateRaw,
    /// `gzip`: one gzip member.
    Gzip,
}

impl Format {
    /// The format named `name` exactly, as the standard's enum.
    pub(crate) fn named(name: &str) -> Option<Self> {
        match name {
            "deflate" => Some(Self::Deflate),
            "deflate-raw" => Some(Self::DeflateRaw),
            "gzip" => Some(Self::Gzip),
            _ => None,
        }
    }
}

/// One step's result: how much input it took and whether more output is waiting (call
/// again, with the rest of the input or none).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Step {
    /// Input bytes consumed.
    pub(crate) used: usize,
    /// Whether the step stopped because its output was full; when false, all of the
    /// input was taken.
    pub(crate) more: bool,
}

/// Where a gzip decoder is in its member.
enum GzipIn {
    /// The fixed 10 header bytes, as far as they came.
    Fixed(Vec<u8>),
    /// The `FEXTRA` length (its bytes so far), then the rest of the header.
    ExtraLength(Vec<u8>, u8),
    /// `FEXTRA` bytes still to skip.
    Extra(usize, u8),
    /// Inside the zero-terminated `FNAME`.
    Name(u8),
    /// Inside the zero-terminated `FCOMMENT`.
    Comment(u8),
    /// The header's CRC-16 (its bytes so far).
    HeaderCrc(Vec<u8>),
    /// The deflate body.
    Body,
    /// The CRC-32 and length trailer, as far as it came.
    Trailer(Vec<u8>),
    /// The whole member was read.
    Done,
}

const FHCRC: u8 = 2;
const FEXTRA: u8 = 4;
const FNAME: u8 = 8;
const FCOMMENT: u8 = 16;

/// One stream's state.
enum Codec {
    Compress {
        z: Compress,
        /// For gzip: the CRC of the input, and whether the header was written.
        gzip: Option<(Crc, bool)>,
    },
    Decompress {
        z: Decompress,
        /// For gzip: where the member is, the CRC of the output and the header's CRC.
        gzip: Option<(GzipIn, Crc, Crc)>,
        /// The deflate stream (and the gzip trailer) ended.
        ended: bool,
    },
}

/// One `CompressionStream` or `DecompressionStream`'s state.
pub(crate) struct Stream(Codec);

impl Stream {
    /// A compressor (`compress`) or decompressor for `format`.
    pub(crate) fn new(compress: bool, format: Format) -> Self {
        let zlib = format == Format::Deflate;
        let gzip = format == Format::Gzip;
        Self(if compress {
            Codec::Compress {
                z: Compress::new(Compression::default(), zlib),
                gzip: gzip.then(|| (Crc::new(), false)),
            }
        } else {
            Codec::Decompress {
                z: Decompress::new(zlib),
                gzip: gzip.then(|| (GzipIn::Fixed(Vec::new()), Crc::new(), Crc::new())),
                ended: false,
            }
        })
    }

    /// Feeds `input` through, appending output to `out` until `out` holds about
    /// [`PIECE`] bytes. An error is the standard's `TypeError` message.
    pub(crate) fn write(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Step, String> {
        match &mut self.0 {
            Codec::Compress { z, gzip } => {
                if let Some((_, header_written @ false)) = gzip {
                    // No name, no time; the OS byte says "Unix", as zlib's does there.
                    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
                    *header_written = true;
                }
                let mut used = 0;
                while used < input.len() {
                    if out.len() >= PIECE {
                        return Ok(Step { used, more: true });
                    }
                    out.reserve(PIECE.saturating_sub(out.len()).max(64));
                    let (before, before_out) = (z.total_in(), z.total_out());
                    z.compress_vec(&input[used..], out, FlushCompress::None)
                        .map_err(|e| format!("compression failed: {e}"))?;
                    let took = (z.total_in() - before) as usize;
                    if took == 0 && z.total_out() == before_out {
                        return Err("compression failed: the deflater made no progress".into());
                    }
                    if let Some((crc, _)) = gzip {
                        crc.update(&input[used..used + took]);
                    }
                    used += took;
                }
                Ok(Step { used, more: false })
            }
            Codec::Decompress { z, gzip, ended } => {
                let mut used = 0;
                loop {
                    if *ended {
                        return if used < input.len() {
                            Err("Junk found after end of compressed data.".into())
                        } else {
                            Ok(Step { used, more: false })
                        };
                    }
                    if out.len() >= PIECE {
                        return Ok(Step { used, more: true });
                    }
                    if let Some((state, crc, header_crc)) = gzip {
                        if !matches!(state, GzipIn::Body) {
                            if used == input.len() {
                                return Ok(Step { used, more: false });
                            }
                            used += gzip_frame(state, crc, header_crc, &input[used..])?;
                            *ended = matches!(state, GzipIn::Done);
                            continue;
                        }
                    }
                    let slice = &input[used..input.len().min(used + SLICE)];
                    out.reserve(PIECE.saturating_sub(out.len()).max(SLICE));
                    let (before_in, before_out) = (z.total_in(), out.len());
                    let status = z
                        .decompress_vec(slice, out, FlushDecompress::None)
                        .map_err(|e| format!("The compressed data is not valid: {e}"))?;
                    let took = (z.total_in() - before_in) as usize;
                    used += took;
                    if let Some((_, crc, _)) = gzip {
                        crc.update(&out[before_out..]);
                    }
                    if status == Status::StreamEnd {
                        match gzip {
                            Some((state, _, _)) => *state = GzipIn::Trailer(Vec::new()),
                            None => *ended = true,
                        }
                        continue;
                    }
                    // Stop when the input is used and the inflater had room to spare
                    // (a full output may leave more output inside it).
                    if used == input.len() && out.len() < out.capacity() {
                        return Ok(Step { used, more: false });
                    }
                    if took == 0 && out.len() == before_out {
                        return Err(
                            "The compressed data is not valid: the inflater made no progress"
                                .into(),
                        );
                    }
                }
            }
        }
    }

    /// Ends the stream: appends the rest of the output to `out` (about [`PIECE`] bytes a
    /// call; `Ok(false)`: call again). A decompressor whose input ended early is an error.
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) -> Result<bool, String> {
        if let Codec::Decompress { .. } = self.0 {
            // Output held back by a full piece comes first.
            if self.write(&[], out)?.more {
                return Ok(false);
            }
            return match self.0 {
                Codec::Decompress { ended: false, .. } => {
                    Err("The compressed data ends early (it was cut short).".into())
                }
                _ => Ok(true),
            };
        }
        if let Codec::Compress {
            gzip: Some((_, false)),
            ..
        } = self.0
        {
            self.write(&[], out)?; // the header of an empty member
        }
        let Codec::Compress { z, gzip } = &mut self.0 else {
            return Ok(true);
        };
        loop {
            if out.len() >= PIECE {
                return Ok(false);
            }
            out.reserve(PIECE.saturating_sub(out.len()).max(64));
            let status = z
                .compress_vec(&[], out, FlushCompress::Finish)
                .map_err(|e| format!("compression failed: {e}"))?;
            if status == Status::StreamEnd {
                if let Some((crc, _)) = gzip {
                    out.extend_from_slice(&crc.sum().to_le_bytes());
                    out.extend_from_slice(&crc.amount().to_le_bytes());
                }
                return Ok(true);
            }
        }
    }
}

/// Reads gzip framing (header or trailer) from `input` into `state`; returns how many
/// bytes it took (it stops at the body, and at the end of the member).
fn gzip_frame(
    state: &mut GzipIn,
    crc: &Crc,
    header_crc: &mut Crc,
    input: &[u8],
) -> Result<usize, String> {
    let bad = |what: &str| Err(format!("The compressed data is not valid gzip: {what}"));
    let mut used = 0;
    while used < input.len() {
        let byte = input[used];
        let in_header = !matches!(state, GzipIn::Body | GzipIn::Trailer(_) | GzipIn::Done);
        if in_header && !matches!(state, GzipIn::HeaderCrc(_)) {
            header_crc.update(&[byte]);
        }
        match state {
            GzipIn::Fixed(bytes) => {
                bytes.push(byte);
                if bytes.len() == 2 && bytes[..] != [0x1f, 0x8b] {
                    return bad("incorrect header check");
                }
                if bytes.len() == 3 && bytes[2] != 8 {
                    return bad("unknown compression method");
                }
                if bytes.len() == 4 && bytes[3] & 0xe0 != 0 {
                    return bad("reserved header flags are set");
                }
                if bytes.len() == 10 {
                    *state = after_fixed(bytes[3]);
                }
            }
            GzipIn::ExtraLength(bytes, flags) => {
                bytes.push(byte);
                if bytes.len() == 2 {
                    let length = usize::from(u16::from_le_bytes([bytes[0], bytes[1]]));
                    let flags = *flags;
                    *state = if length == 0 {
                        after_extra(flags)
                    } else {
                        GzipIn::Extra(length, flags)
                    };
                }
            }
            GzipIn::Extra(left, flags) => {
                *left -= 1;
                if *left == 0 {
                    *state = after_extra(*flags);
                }
            }
            GzipIn::Name(flags) => {
                if byte == 0 {
                    *state = after_name(*flags);
                }
            }
            GzipIn::Comment(flags) => {
                if byte == 0 {
                    *state = after_comment(*flags);
                }
            }
            GzipIn::HeaderCrc(bytes) => {
                bytes.push(byte);
                if bytes.len() == 2 {
                    if u16::from_le_bytes([bytes[0], bytes[1]])
                        != (header_crc.sum() & 0xffff) as u16
                    {
                        return bad("header crc mismatch");
                    }
                    *state = GzipIn::Body;
                }
            }
            GzipIn::Body | GzipIn::Done => return Ok(used),
            GzipIn::Trailer(bytes) => {
                bytes.push(byte);
                if bytes.len() == 8 {
                    let sum = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
                    let length = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
                    if sum != crc.sum() {
                        return bad("incorrect data check");
                    }
                    if length != crc.amount() {
                        return bad("incorrect length check");
                    }
                    *state = GzipIn::Done;
                    return Ok(used + 1);
                }
            }
        }
        used += 1;
        if matches!(state, GzipIn::Body) {
            return Ok(used);
        }
    }
    Ok(used)
}

fn after_fixed(flags: u8) -> GzipIn {
    if flags & FEXTRA != 0 {
        GzipIn::ExtraLength(Vec::new(), flags)
    } else {
        after_extra(flags)
    }
}

fn after_extra(flags: u8) -> GzipIn {
    if flags & FNAME != 0 {
        GzipIn::Name(flags)
    } else {
        after_name(flags)
    }
}

fn after_name(flags: u8) -> GzipIn {
    if flags & FCOMMENT != 0 {
        GzipIn::Comment(flags)
    } else {
        after_comment(flags)
    }
}

fn after_comment(flags: u8) -> GzipIn {
    if flags & FHCRC != 0 {
        GzipIn::HeaderCrc(Vec::new())
    } else {
        GzipIn::Body
    }
}

/// The open streams of one context, by id.
#[derive(Default)]
pub(crate) struct Streams {
    open: HashMap<u32, Stream>,
    next: u32,
}

impl Streams {
    /// Keeps `stream` and returns its id; `None` when [`MAX_OPEN`] are open.
    pub(crate) fn open(&mut self, stream: Stream) -> Option<u32> {
        if self.open.len() >= MAX_OPEN {
            return None;
        }
        loop {
            self.next = self.next.wrapping_add(1).max(1);
            if !self.open.contains_key(&self.next) {
                break;
            }
        }
        self.open.insert(self.next, stream);
        Some(self.next)
    }

    /// Stream `id`, if it is open.
    pub(crate) fn get(&mut self, id: u32) -> Option<&mut Stream> {
        self.open.get_mut(&id)
    }

    /// Forgets stream `id` (ended, errored, cancelled or collected).
    pub(crate) fn close(&mut self, id: u32) {
        self.open.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::{Format, Stream, Streams, MAX_OPEN, PIECE};

    /// All the output of `input` through a new stream, fed `chunk` bytes at a time.
    fn run(compress: bool, format: Format, input: &[u8], chunk: usize) -> Result<Vec<u8>, String> {
        let mut stream = Stream::new(compress, format);
        let mut all = Vec::new();
        for part in input.chunks(chunk.max(1)) {
            let mut at = 0;
            loop {
                let mut out = Vec::new();
                let step = stream.write(&part[at..], &mut out)?;
                assert!(
                    out.len() <= PIECE + 1100 * 1024,
                    "a step made {} bytes",
                    out.len()
                );
                all.extend_from_slice(&out);
                at += step.used;
                // As the JavaScript caller does: stop when no more is waiting, which
                // must mean the whole part was taken.
                if !step.more {
                    assert_eq!(at, part.len(), "a step stopped with input left");
                    break;
                }
            }
        }
        loop {
            let mut out = Vec::new();
            let done = stream.finish(&mut out)?;
            all.extend_from_slice(&out);
            if done {
                return Ok(all);
            }
        }
    }

    const FORMATS: [Format; 3] = [Format::Deflate, Format::DeflateRaw, Format::Gzip];

    fn text() -> Vec<u8> {
        (0..200_000u32)
            .flat_map(|i| format!("line {} of {}\n", i % 977, i % 13).into_bytes())
            .collect()
    }

    #[test]
    #[cfg_attr(miri, ignore = "megabytes through inflate: hours under Miri")]
    fn what_is_compressed_comes_back_in_any_chunking() {
        let input = text();
        for format in FORMATS {
            let packed = run(true, format, &input, 70_000).unwrap();
            assert!(packed.len() < input.len() / 5, "{format:?}");
            for chunk in [1, 7, 4096, packed.len()] {
                assert_eq!(
                    run(false, format, &packed, chunk).unwrap(),
                    input,
                    "{format:?} {chunk}"
                );
            }
            assert_eq!(
                run(false, format, &run(true, format, b"", 1).unwrap(), 1).unwrap(),
                b""
            );
        }
    }

    #[test]
    fn the_framing_is_what_zlib_reads() {
        let gzip = run(true, Format::Gzip, b"hello", 5).unwrap();
        assert_eq!(gzip[..4], [0x1f, 0x8b, 8, 0]);
        assert_eq!(gzip[gzip.len() - 4..], 5u32.to_le_bytes());
        let zlib = run(true, Format::Deflate, b"hello", 5).unwrap();
        assert_eq!(zlib[0], 0x78);
        // Node's (zlib's) gzip of "hello hello hello hello", byte for byte read back.
        let node = [
            31, 139, 8, 0, 0, 0, 0, 0, 0, 3, 203, 72, 205, 201, 201, 87, 200, 64, 39, 1, 227, 81,
            61, 141, 23, 0, 0, 0,
        ];
        assert_eq!(
            run(false, Format::Gzip, &node, 3).unwrap(),
            b"hello hello hello hello"
        );
    }

    #[test]
    fn gzip_headers_with_every_optional_field_are_read() {
        let body = run(true, Format::DeflateRaw, b"abc", 3).unwrap();
        let mut member = vec![
            0x1f,
            0x8b,
            8,
            2 | 4 | 8 | 16,
            0,
            0,
            0,
            0,
            0,
            255,
            3,
            0,
            b'x',
            b'y',
            b'z',
        ];
        member.extend_from_slice(b"name.txt\0a comment\0");
        let mut crc = flate2::Crc::new();
        crc.update(&member);
        member.extend_from_slice(&((crc.sum() & 0xffff) as u16).to_le_bytes());
        member.extend_from_slice(&body);
        let mut data = flate2::Crc::new();
        data.update(b"abc");
        member.extend_from_slice(&data.sum().to_le_bytes());
        member.extend_from_slice(&3u32.to_le_bytes());
        for chunk in [1, 2, member.len()] {
            assert_eq!(run(false, Format::Gzip, &member, chunk).unwrap(), b"abc");
        }
        let mut bad = member.clone();
        bad[20] ^= 1; // in the name: the header CRC no longer matches
        assert!(run(false, Format::Gzip, &bad, 4)
            .unwrap_err()
            .contains("header crc"));
    }

    #[test]
    fn bad_input_is_an_error() {
        for format in FORMATS {
            let packed = run(true, format, b"hello hello hello hello", 100).unwrap();
            let mut junk = packed.clone();
            junk.extend_from_slice(&[1, 2]);
            assert!(
                run(false, format, &junk, 100).unwrap_err().contains("Junk"),
                "{format:?}"
            );
            let twice = [packed.clone(), packed.clone()].concat();
            assert!(
                run(false, format, &twice, 3).unwrap_err().contains("Junk"),
                "{format:?}"
            );
            let cut = &packed[..packed.len() - 3];
            assert!(
                run(false, format, cut, 100)
                    .unwrap_err()
                    .contains("ends early"),
                "{format:?}"
            );
            assert!(
                run(false, format, &[], 1)
                    .unwrap_err()
                    .contains("ends early"),
                "{format:?}"
            );
        }
        let gzip = run(true, Format::Gzip, b"hello", 5).unwrap();
        let mut wrong_crc = gzip.clone();
        let at = wrong_crc.len() - 8;
        wrong_crc[at] ^= 1;
        assert!(run(false, Format::Gzip, &wrong_crc, 5)
            .unwrap_err()
            .contains("data check"));
        assert!(run(false, Format::Gzip, &[0x1f, 0x8c], 5)
            .unwrap_err()
            .contains("header check"));
        assert!(run(false, Format::Deflate, &[1, 2, 3, 4], 5)
            .unwrap_err()
            .contains("not valid"));
    }

    #[test]
    #[cfg_attr(miri, ignore = "megabytes through inflate: hours under Miri")]
    fn a_bomb_comes_out_in_pieces() {
        let zeros = vec![0u8; 64 << 20];
        let packed = run(true, Format::Gzip, &zeros, 1 << 20).unwrap();
        assert!(packed.len() < 100_000);
        // `run` checks that no step makes much more than a piece.
        assert_eq!(
            run(false, Format::Gzip, &packed, packed.len())
                .unwrap()
                .len(),
            64 << 20
        );
    }

    #[test]
    fn a_context_keeps_a_bounded_number_open() {
        let mut streams = Streams::default();
        let ids: Vec<u32> = (0..MAX_OPEN)
            .map(|_| {
                streams
                    .open(Stream::new(false, Format::DeflateRaw))
                    .unwrap()
            })
            .collect();
        assert!(streams
            .open(Stream::new(false, Format::DeflateRaw))
            .is_none());
        streams.close(ids[5]);
        assert!(streams.get(ids[5]).is_none());
        assert!(streams
            .open(Stream::new(false, Format::DeflateRaw))
            .is_some());
        assert!(Format::named("gzip ").is_none() && Format::named("GZIP").is_none());
    }
}
