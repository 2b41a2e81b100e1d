"""stop_sequences, applied to the answer text as it streams (chat.z.ai has no stop parameter)."""


class StopSequences:
    """Cuts text at the first stop sequence to complete, holding back what may begin one."""

    def __init__(self, sequences=()):
        self.sequences = [sequence for sequence in sequences or () if sequence]
        self.held = ""
        self.hit = None   # the stop sequence found

    def feed(self, text):
        """The part of the text so far that surely comes before any stop sequence."""
        if self.hit is not None:
            return ""
        if not self.sequences:
            return text
        text = self.held + text
        found = [(text.find(sequence) + len(sequence), sequence)
                 for sequence in self.sequences if sequence in text]
        if found:
            end, self.hit = min(found)
            self.held = ""
            return text[:end - len(self.hit)]
        keep = self._partial(text)
        self.held = text[len(text) - keep:]
        return text[:len(text) - keep]

    def flush(self):
        """The text held back: at a block boundary or the end, it no longer begins a sequence."""
        held, self.held = self.held, ""
        return held

    def _partial(self, text):
        """The length of the longest end of `text` that begins a stop sequence."""
        longest = 0
        for sequence in self.sequences:
            for size in range(min(len(sequence) - 1, len(text)), longest, -1):
                if text.endswith(sequence[:size]):
                    longest = size
                    break
        return longest
