"""transformers' own common model tests (`ModelTesterMixin`, `ConfigTester`) on every LinVT family's classes.

The tests come from the sdist of the installed transformers (see `transformers_tests.py`); this file supplies, per
family, what transformers' per-model test files supply (the sdist does not ship `tests/models/`): a model tester that
builds the LinVT config from the image-LLM's tiny config and the inputs, and the test class. The inputs are a batch of
prompts that each hold an image AND a video, made by the family's tiny LinVT processor, so that every common test
(save/load, batching, training, gradient checkpointing, outputs, ...) runs through both the image-LLM's image path and
LinVT's video path.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import unittest
from typing import Any
from unittest import mock

import numpy as np
import pytest
import torch

import linvt_hf  # noqa: F401  (registers the families)
import transformers_tests
from linvt_hf.family import FAMILIES
from linvt_hf.modeling.checkpoints import image_llm_class_of
from linvt_hf.modeling.modeling_linvt import LinVTVideoFeatures
from linvt_hf.testing import make_tiny_linvt_processor, tiny_image_llm_config, tiny_linvt_config

try:
    COMMON = transformers_tests.import_common_tests()
    UNAVAILABLE = ""
except transformers_tests.CommonTestsUnavailable as error:  # the family test classes are then skipped, saying why
    COMMON, UNAVAILABLE = None, f"transformers' common model tests are unavailable: {error}"

ModelTesterMixin = COMMON.modeling.ModelTesterMixin if COMMON is not None else object
VIDEO_FEATURES_CONTRACT = (
    "LinVT's get_video_features returns LinVTVideoFeatures (the video tokenizer's tokens per video and what it "
    "selected), not transformers' BaseModelOutputWithPooling of the vision encoder (last_hidden_state, "
    "pooler_output, hidden_states, attentions) that these tests check"
)
QUESTIONS = ("what is the man doing", "count the objects in the scene")


# The tiny LinVT of `linvt_hf.testing` at two scales instead of three: every path is still taken, with a third fewer
# parameters (the mixin compares or prints every parameter, many times over).
TESTER_LINVT = dict(num_queries=[4, 4], pooling_windows=[1, 2])


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Run this module's many tiny models on one thread: torch's intra-op threads only add overhead at these sizes
    (the module takes about half the time, and half the CPU)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@functools.lru_cache(maxsize=None)
def tiny_processor(family: str) -> Any:
    return make_tiny_linvt_processor(family, num_video_tokens=8)


@functools.lru_cache(maxsize=None)
def processed_batch(family: str, images: bool, videos: bool, batch_size: int, num_frames: int) -> dict[str, Any]:
    """The tiny processor's outputs for `batch_size` prompts of one image and/or one video each (computed once)."""
    processor = tiny_processor(family)
    rng = np.random.default_rng(0)
    side = 56
    content = [{"type": "image"}] * images + [{"type": "video"}] * videos
    texts = [
        processor.apply_chat_template(
            [{"role": "user", "content": [*content, {"type": "text", "text": question}]}],
            tokenize=False,
            add_generation_prompt=True,
        )
        for question in (QUESTIONS * batch_size)[:batch_size]
    ]
    frames = {}
    if images:
        frames["images"] = [rng.integers(0, 256, (side, side, 3), dtype=np.uint8) for _ in range(batch_size)]
    if videos:
        shape = (num_frames, side, side, 3)
        frames["videos"] = [rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(batch_size)]
    return dict(processor(text=texts, **frames, padding=True, return_tensors="pt"))


class LinVTModelTester:
    """What transformers' `<Model>ModelTester` classes give `ModelTesterMixin`: the config and a batch of inputs.

    The config is the family's tiny image-LLM config (`linvt_hf.testing.tiny_image_llm_config`: a one-layer vision
    tower, a two-layer LLM of width 64) with a tiny LinVT (8 video tokens, `TESTER_LINVT`); the batch holds
    `batch_size` prompts, each with one image and one video of `num_frames` random frames, of equal sizes (so that the
    mixin can cut the batch into single rows), and next-token labels.
    """

    batch_size = 2
    num_frames = 4
    is_training = True
    images = True  # each prompt holds an image
    videos = True  # and a video
    # Rows of the embedding table past the tokenizer's: the mixin's resizing test clamps input_ids to
    # `vocab_size - 16`, which must leave the image and video tokens (the tokenizer's last ids) alone.
    spare_vocab = 32

    def __init__(self, parent: unittest.TestCase, family: str) -> None:
        self.parent = parent
        self.family = family
        self.processor = tiny_processor(family)
        image_llm = self.image_llm_config()
        text = image_llm.get_text_config(decoder=True)
        self.vocab_size = text.vocab_size
        self.hidden_size = text.hidden_size
        self.num_hidden_layers = text.num_hidden_layers
        self.num_attention_heads = text.num_attention_heads
        self.pad_token_id = text.pad_token_id
        self.text_config = text.to_dict()
        self.vision_config = image_llm.vision_config.to_dict()
        # What the mixin reads for the vision tower's layer count (Qwen's vision config calls it `depth`).
        self.vision_config.setdefault("num_hidden_layers", self.vision_config.get("depth"))

    @property
    def seq_length(self) -> int:
        """The prompts' length (the mixin makes labels of it)."""
        return self.prepare_inputs(images=self.images, videos=self.videos)["input_ids"].shape[1]

    def image_llm_config(self) -> Any:
        config = tiny_image_llm_config(self.family, self.processor)
        config.get_text_config(decoder=True).vocab_size += self.spare_vocab
        return config

    def get_config(self) -> Any:
        return FAMILIES[self.family].config_class.from_image_llm_config(
            self.image_llm_config(), video_tokenizer_config=tiny_linvt_config(**TESTER_LINVT)
        )

    def prepare_inputs(self, images: bool = True, videos: bool = True) -> dict[str, torch.Tensor]:
        """The tiny processor's outputs for `batch_size` prompts of one image and/or one video each (a fresh copy:
        tests change them in place)."""
        batch = processed_batch(self.family, images, videos, self.batch_size, self.num_frames)
        return {key: value.clone() for key, value in batch.items()}

    def prepare_config_and_inputs_for_common(self) -> tuple[Any, dict[str, torch.Tensor]]:
        inputs = self.prepare_inputs(images=self.images, videos=self.videos)
        labels = inputs["input_ids"].masked_fill(inputs["attention_mask"] == 0, -100)
        return self.get_config(), {**inputs, "labels": labels}


def mirrored_auto_mappings(family: str) -> dict[str, dict[str, str]]:
    """For each of transformers' `*_MAPPING_NAMES` tables that lists the image-LLM's base model or model with head,
    the same entry for the LinVT family's class: `{table name: {linvt model type: class name}}`.

    The mixin decides by these tables what a class is (a base model is not trained on a loss, an image-text-to-text
    model has its video features' layout checked, ...); transformers' `Auto*.register` does not add to them, so
    without this the LinVT classes would skip tests that apply to them.
    """
    import transformers.models.auto.modeling_auto as auto

    registered = FAMILIES[family]
    linvt_type = registered.config_class.model_type
    ours = {
        image_llm_class_of(registered.model_class).__name__: registered.model_class.__name__,
        image_llm_class_of(registered.for_generation_class).__name__: registered.for_generation_class.__name__,
    }
    tables = {}
    for name, table in vars(auto).items():
        if name.endswith("_MAPPING_NAMES") and name != "CONFIG_MAPPING_NAMES" and isinstance(table, dict):
            upstream = table.get(family)
            if isinstance(upstream, str) and upstream in ours:
                tables[name] = {linvt_type: ours[upstream]}
    if family not in auto.MODEL_MAPPING_NAMES:  # linvt-hf's own port (xGen-MM): the tables LLaVA's classes are in
        base, head = registered.model_class.__name__, registered.for_generation_class.__name__
        for name in OWN_PORT_HEAD_TABLES:
            if isinstance(getattr(auto, name, None), dict):
                tables[name] = {linvt_type: head}
        tables["MODEL_MAPPING_NAMES"] = {linvt_type: base}
    return tables


# The Auto tables listing an image-LLM's model with head (LLaVA's), for an image-LLM transformers does not have.
OWN_PORT_HEAD_TABLES = (
    "MODEL_FOR_PRETRAINING_MAPPING_NAMES",
    "MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES",
    "MODEL_FOR_MULTIMODAL_LM_MAPPING_NAMES",
)


class LinVTCommonTests(ModelTesterMixin):
    """`ModelTesterMixin` on a LinVT family's `LinVT<Family>Model` and `LinVT<Family>ForConditionalGeneration`."""

    family: str
    _is_composite = True
    # The mixin runs this test only on models whose modeling file has a copyright line of 2023 or later (transformers'
    # own files; LinVT's have none): LinVT's classes opt in.
    test_can_init_all_missing_weights_before_2023 = True

    @classmethod
    def setUpClass(cls) -> None:
        import transformers.models.auto.modeling_auto as auto

        super().setUpClass()
        for name, entries in mirrored_auto_mappings(cls.family).items():
            patcher = mock.patch.dict(getattr(auto, name), entries)
            patcher.start()
            cls.addClassCleanup(patcher.stop)

    def setUp(self) -> None:
        self.model_tester = LinVTModelTester(self, self.family)
        self.config_tester = COMMON.configuration.ConfigTester(
            self, config_class=FAMILIES[self.family].config_class, has_text_modality=False
        )

    def test_config(self) -> None:
        self.config_tester.run_common_tests()

    @contextlib.contextmanager
    def prompts_with(self, images: bool, videos: bool):
        """The model tester's prompts hold an image each if `images`, a video each if `videos`, within the block."""
        self.model_tester.images, self.model_tester.videos = images, videos
        try:
            yield
        finally:
            self.model_tester.images = self.model_tester.videos = True

    def check_training_gradient_checkpointing(self, gradient_checkpointing_kwargs=None) -> None:
        # The mixin's last check, that every parameter gets a gradient from `outputs.loss`, cannot hold for
        # `video_text_logit_scale`: only stage 1's contrastive loss (`outputs.contrastive_loss`) uses it.
        # `test_training_trains_linvt_parameters` checks LinVT's parameters on both losses instead.
        #
        # The mixin counts the recomputations of the first checkpointed layer (the vision tower's first block) through
        # one mock whose forward is the layer's LAST call: it recomputes every call with the last call's arguments.
        # That layer runs once for the images and once per video (LinVT encodes each video in chunks, to bound
        # memory), with differently sized inputs, so with images the recomputation mixes calls up; with videos of
        # one size every call is the same but for the frames, and the check is exact.
        every_parameter = mock.patch.object(self, "test_all_params_have_gradient", False)
        with self.prompts_with(images=False, videos=True), every_parameter:
            super().check_training_gradient_checkpointing(gradient_checkpointing_kwargs)

    def test_inputs_embeds(self) -> None:
        # The test gives `inputs_embeds` instead of `input_ids`. LinVT needs `input_ids` with videos (they place the
        # video tokens and hold the question that conditions them; without them it raises a ValueError that says
        # so), so the test runs on prompts with images only, which LinVT's classes take as the image-LLM does.
        with self.prompts_with(images=True, videos=False):
            super().test_inputs_embeds()

    def test_inputs_embeds_matches_input_ids(self, **model_specific_kwargs: Any) -> None:
        # As test_inputs_embeds: the `inputs_embeds` side needs prompts without videos.
        with self.prompts_with(images=True, videos=False):
            super().test_inputs_embeds_matches_input_ids(**model_specific_kwargs)

    def test_reverse_loading_mapping(self) -> None:
        # LinVT's base models rename only on loading (a checkpoint of the model with head, in the image-LLM's original
        # layout, into the base model); their own keys carry no prefix to rename, so saving them renames nothing.
        # transformers' `skip_base_model` is for exactly these mappings (llava's).
        super().test_reverse_loading_mapping(skip_base_model=True)

    def test_model_outputs_equivalence(self) -> None:
        source = inspect.getsource(ModelTesterMixin.test_model_outputs_equivalence)
        if "tuple_object - dict_object" in source:
            self.skipTest(
                f"transformers {COMMON.version}'s test formats its failure message before comparing, subtracting the "
                "two outputs, which fails on bool tensors (LinVT's video_tokens_mask); later versions compare with "
                "torch.testing.assert_close"
            )
        super().test_model_outputs_equivalence()

    @unittest.skip(
        reason="GenerationTesterMixin (transformers' tests/generation/test_utils.py) is not in transformers' sdist, so "
        "the generate tests it adds cannot run here (LinVT's generate: test_model_regressions.py and this file's "
        "test_several_sequences_per_prompt_see_their_own_videos)"
    )
    def test_generation_tester_mixin_inheritance(self) -> None:
        pass


# The families that also run the mixin's slow cases (`is_slow`): one with Qwen's own ViT and M-RoPE LLM, one with
# SigLIP and a standard LLM, and linvt-hf's own port of an image-LLM (xGen-MM). Those cases (about 5 s a family for
# the torch_dtype alias, 6 s for half precision) check transformers' loading and the image-LLM's own attention, which
# transformers tests for its own classes, through code every LinVT family shares; the float32 attention cases and
# every other test run for every family.
SLOW_CASES_FAMILIES = ("qwen2_vl", "llava", "xgenmm")


def is_slow(test: str) -> bool:
    """The mixin's tests that take most of this module's time for little LinVT-specific coverage: the torch_dtype
    alias (28 loads a family) and attention implementations compared in half precision (16 cases a family)."""
    half = test.startswith("test_eager_matches_sdpa_inference") and ("_fp16_" in test or "_bf16_" in test)
    return half or test == "test_bc_torch_dtype"


def run_mixin_test(test: str):
    def run(self: unittest.TestCase) -> None:
        getattr(ModelTesterMixin, test)(self)

    return run


def family_test_class(family: str) -> type:
    registered = FAMILIES[family]
    name = "".join(part.capitalize() for part in family.split("_"))
    attributes = {
        "family": family,
        "all_model_classes": (registered.model_class, registered.for_generation_class),
        "__doc__": f"transformers' common model tests on LinVT's {family} classes.",
    }
    if family in ("llava_onevision", "smolvlm"):
        # Their get_image_features encode each of an image's crops (LLaVA-OneVision's anyres crops, SmolVLM's tiles and
        # global view: 5 per image here) as a row of its own, so the mixin's "one row per image" shape check does not
        # apply (LlavaOnevisionModel's and SmolVLMModel's own outputs have that shape).
        attributes["skip_test_image_features_output_shape"] = True
    if COMMON is not None and "exporters.test_export" in COMMON.absent:
        reason = "ExportTesterMixin (transformers' tests/exporters/test_export.py, the torch.export tests) is not in "
        attributes["test_torch_export"] = unittest.skip(reason + "transformers' sdist")(lambda self: None)
    for test in dir(ModelTesterMixin):  # each parameterized case is a test of its own
        if test.startswith("test_get_video_features"):
            attributes[test] = unittest.skip(reason=VIDEO_FEATURES_CONTRACT)(lambda self: None)
        elif is_slow(test) and family not in SLOW_CASES_FAMILIES:
            reason = f"the slow cases run for {', '.join(SLOW_CASES_FAMILIES)} (SLOW_CASES_FAMILIES)"
            attributes[test] = unittest.skip(reason=reason)(lambda self: None)
        elif is_slow(test):
            attributes[test] = pytest.mark.slow(functools.wraps(getattr(ModelTesterMixin, test))(run_mixin_test(test)))
    test_class = type(f"LinVT{name}ModelTest", (LinVTCommonTests, unittest.TestCase), attributes)
    return unittest.skipIf(COMMON is None, UNAVAILABLE)(test_class)


LinVTQwen2VlModelTest = family_test_class("qwen2_vl")
LinVTQwen25VlModelTest = family_test_class("qwen2_5_vl")
LinVTQwen3VlModelTest = family_test_class("qwen3_vl")
LinVTQwen3VlMoeModelTest = family_test_class("qwen3_vl_moe")
LinVTSmolvlmModelTest = family_test_class("smolvlm")
LinVTInternvlModelTest = family_test_class("internvl")
LinVTLlavaOnevisionModelTest = family_test_class("llava_onevision")
LinVTLlavaModelTest = family_test_class("llava")
LinVTMolmoModelTest = family_test_class("molmo")
LinVTMolmo2ModelTest = family_test_class("molmo2")
LinVTXgenmmModelTest = family_test_class("xgenmm")


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_several_sequences_per_prompt_see_their_own_videos(family: str) -> None:
    """With beams (or `num_return_sequences`), `generate` repeats each prompt; every copy must get its own prompt's
    video tokens, encoded from that video's frames (repeating the frames' rows as if they were prompts mixed the
    videos' frames up)."""
    tester = LinVTModelTester(unittest.TestCase(), family)
    config, inputs = tester.prepare_config_and_inputs_for_common()
    inputs = {k: v for k, v in tester.prepare_inputs(images=False).items()}
    torch.manual_seed(0)
    model = FAMILIES[family].for_generation_class(config).eval()
    with torch.no_grad():
        expected = model.get_video_features(**inputs).placeholder_embeds()
    copies, seen = 2, []
    placeholder_embeds = LinVTVideoFeatures.placeholder_embeds

    def recording(features: LinVTVideoFeatures) -> torch.Tensor:
        seen.append(placeholder_embeds(features))
        return seen[-1]

    with mock.patch.object(LinVTVideoFeatures, "placeholder_embeds", recording), torch.no_grad():
        model.generate(**inputs, num_beams=copies, num_return_sequences=copies, max_new_tokens=2, do_sample=False)
    per_video = expected.view(tester.batch_size, -1, expected.shape[-1])
    torch.testing.assert_close(seen[0], per_video.repeat_interleave(copies, dim=0).flatten(0, 1))


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_training_trains_linvt_parameters(family: str) -> None:
    """A video batch trains LinVT's parameters: the LM loss every parameter of the video tokenizer (and not
    `video_text_logit_scale`), stage 1's contrastive loss (a caption per prompt) `video_text_logit_scale` and the
    video tokenizer."""
    config, inputs = LinVTModelTester(unittest.TestCase(), family).prepare_config_and_inputs_for_common()
    model = FAMILIES[family].for_generation_class(config).train()
    inputs["caption_mask"] = inputs["question_mask"]  # any span of the prompt will do as its "caption"
    outputs = model(**inputs)
    outputs.loss.backward(retain_graph=True)
    # (A gradient may be exactly zero: with one token per frame, as LLaVA-OneVision's tiny frames give, the spatial
    # attention's softmax is constant.)
    assert [name for name, p in model.model.video_tokenizer.named_parameters() if p.grad is None] == []
    assert model.video_text_logit_scale.grad is None
    model.zero_grad(set_to_none=True)
    outputs.contrastive_loss.backward()
    trained = {name for name, p in model.named_parameters() if p.grad is not None and p.grad.any()}
    assert "video_text_logit_scale" in trained
    assert any(name.startswith("model.video_tokenizer.") for name in trained)


def write_sdist(path: Any, files: dict[str, str]) -> Any:
    """A `.tar.gz` at `path` holding `files` (name -> text)."""
    import io
    import tarfile

    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_unpacking_keeps_only_the_sdists_test_files(tmp_path) -> None:
    sdist = write_sdist(
        tmp_path / "transformers-9.9.9.tar.gz",
        {
            "transformers-9.9.9/tests/test_modeling_common.py": "X = 1\n",
            "transformers-9.9.9/tests/utils/helper.py": "Y = 2\n",
            "transformers-9.9.9/tests/fixtures/data.json": "{}",
            "transformers-9.9.9/src/transformers/__init__.py": "",
        },
    )
    package = tmp_path / "out" / transformers_tests.PACKAGE
    transformers_tests.unpack_tests(sdist, "9.9.9", package)
    files = sorted(str(p.relative_to(package)) for p in package.rglob("*") if p.is_file())
    assert files == ["__init__.py", "test_modeling_common.py", "utils/__init__.py", "utils/helper.py"]
    # What the sdist lacks is registered as absent; config_common_kwargs refuses to be read instead of being empty.
    assert "utils.test_configuration_utils" in transformers_tests.ABSENT_MODULES
    with pytest.raises(transformers_tests.CommonTestsUnavailable, match="does not ship"):
        len(transformers_tests.absent_value("utils.test_configuration_utils", "config_common_kwargs"))


def test_an_sdist_without_the_common_tests_is_refused(tmp_path) -> None:
    sdist = write_sdist(tmp_path / "transformers-9.9.9.tar.gz", {"transformers-9.9.9/tests/test_other.py": ""})
    with pytest.raises(transformers_tests.CommonTestsUnavailable, match="no tests/test_modeling_common.py"):
        transformers_tests.unpack_tests(sdist, "9.9.9", tmp_path / "out")

