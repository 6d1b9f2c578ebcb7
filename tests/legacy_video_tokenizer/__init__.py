"""A FROZEN copy of linvt-hf 0.1's video tokenizer (`linvt_hf/modeling/tokenizer/`), the oracle of
tests/test_video_tokenizer_equivalence.py: the redesigned `linvt_hf.modeling.video_tokenizer` must give the same bits
on the same weights. Only two edits to the original: `LinVTConfig` is imported from `linvt_hf`, and the tokenizer type
is read from its new field name (`config.video_tokenizer_type`). Never change its behaviour.
"""

from .linear_video_tokenizer import LinearVideoTokenizer, LinearVideoTokenizerOutput

__all__ = ["LinearVideoTokenizer", "LinearVideoTokenizerOutput"]
