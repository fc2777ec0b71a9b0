//! The `TextDecoder`s of one context in the middle of a stream: encoding_rs's decoder
//! state between chunks, by the number the JavaScript decoder holds (natives keep no
//! state of their own; see `web/encoding.rs`).

/// How many decoders one context keeps in the middle of a stream: past it, the one
/// unused the longest is forgotten (a decoder that JavaScript dropped mid-stream goes
/// when it is collected, or this way).
const MAX_STREAMING_DECODERS: usize = 1024;

/// The decoders of one context in the middle of a stream, by id, with when each was
/// last used.
#[derive(Default)]
pub(crate) struct DecoderStates {
    states: std::collections::HashMap<u32, (encoding_rs::Decoder, u64)>,
    clock: u64,
}

impl DecoderStates {
    /// The state of decoder `id`, taken out (none: it starts afresh).
    pub(crate) fn take(&mut self, id: u32) -> Option<encoding_rs::Decoder> {
        self.states.remove(&id).map(|(decoder, _)| decoder)
    }

    /// Keeps `decoder`'s state under `id` until its next chunk.
    pub(crate) fn keep(&mut self, id: u32, decoder: encoding_rs::Decoder) {
        if self.states.len() >= MAX_STREAMING_DECODERS {
            let oldest = self
                .states
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(id, _)| *id);
            if let Some(oldest) = oldest {
                self.states.remove(&oldest);
            }
        }
        self.clock += 1;
        self.states.insert(id, (decoder, self.clock));
    }

    /// How many streams are kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.states.len()
    }
}

#[cfg(test)]
mod tests {
    use super::{DecoderStates, MAX_STREAMING_DECODERS};

    #[test]
    fn the_decoder_unused_longest_goes_first() {
        let mut states = DecoderStates::default();
        let decoder = || encoding_rs::GBK.new_decoder();
        for id in 0..MAX_STREAMING_DECODERS as u32 {
            states.keep(id, decoder());
        }
        let first = states.take(0).unwrap();
        states.keep(0, first); // 0 is now the newest; 1 the oldest
        states.keep(9999, decoder());
        assert_eq!(states.len(), MAX_STREAMING_DECODERS);
        assert!(states.take(1).is_none());
        assert!(states.take(0).is_some() && states.take(9999).is_some());
    }
}
