"""stop_sequences, applied to the answer text as it streams (chat.z.ai has no stop parameter).

The sequences are matched with an Aho–Corasick automaton: each character of the answer is one
step (plus failure steps, fewer in all than the characters), however many sequences there are and
however the answer is split into chunks. The automaton's state is the longest end of the text so
far that begins a sequence: exactly the text to hold back.
"""
from ztoapi.fairness import breathe

SHIFT = 21   # a state and a code point (at most 0x10FFFF) make one edge key: state << 21 | code point


class StopSequences:
    """Cuts text at the first stop sequence to complete, holding back what may begin one."""

    def __init__(self, sequences=()):
        self.sequences = sorted({sequence for sequence in sequences or () if sequence})
        self.edges = {}     # state << SHIFT | code point → next state
        self.fail = [0]     # state → the state of its longest proper suffix that begins a sequence
        self.depth = [0]    # state → its length
        self.ends = [None]  # state → the first (in sort order) sequence that ends there, if any
        self.state = 0
        self.held = ""
        self.hit = None     # the stop sequence found
        self.steps = 0      # edges and failure links followed, for tests: at most twice the text fed
        self._build()

    def feed(self, text):
        """The part of the text so far that surely comes before any stop sequence."""
        if self.hit is not None:
            return ""
        if not self.sequences:
            return text
        breathe()
        state, edges, fail, ends = self.state, self.edges, self.fail, self.ends
        for index, char in enumerate(text):
            code = ord(char)
            while state and (state << SHIFT | code) not in edges:
                state = fail[state]
                self.steps += 1
            state = edges.get(state << SHIFT | code, 0)
            self.steps += 1
            if ends[state] is not None:
                self.hit = ends[state]
                end = len(self.held) + index + 1
                before = (self.held + text[:index + 1])[:end - len(self.hit)]
                self.held, self.state = "", 0
                return before
            if index % 1024 == 1023:
                breathe()
        self.state = state
        text = self.held + text
        keep = self.depth[state]
        self.held = text[len(text) - keep:]
        return text[:len(text) - keep]

    def flush(self):
        """The text held back: at a block boundary or the end, it no longer begins a sequence."""
        held, self.held, self.state = self.held, "", 0
        return held

    def _build(self):
        """The trie of the sequences, then failure links breadth first; a state's `ends` is the
        first sequence ending at it or at a state its failure links lead to."""
        children = [[]]   # state → [(code point, child)], let go of as the links are set
        for sequence in self.sequences:
            state = 0
            for char in sequence:
                code = ord(char)
                key = state << SHIFT | code
                if key not in self.edges:
                    self.edges[key] = len(self.fail)
                    children[state].append((code, len(self.fail)))
                    children.append([])
                    self.fail.append(0)
                    self.depth.append(self.depth[state] + 1)
                    self.ends.append(None)
                state = self.edges[key]
            self.ends[state] = self.ends[state] or sequence
            breathe()
        queue = [child for _, child in children[0]]
        for state in queue:
            for code, child in children[state]:
                link = self.fail[state]
                while link and (link << SHIFT | code) not in self.edges:
                    link = self.fail[link]
                self.fail[child] = self.edges.get(link << SHIFT | code, 0)
                found = [end for end in (self.ends[child], self.ends[self.fail[child]]) if end]
                self.ends[child] = min(found) if found else None
                queue.append(child)
                breathe()
            children[state] = None
