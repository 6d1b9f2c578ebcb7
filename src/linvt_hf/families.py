"""The backbone families linvt-hf ships: one `register_family` call each (see `linvt_hf.family` and the README's
"Adding a backbone")."""

from __future__ import annotations

from transformers import AutoImageProcessor, AutoProcessor

from .family import VIDEO_PROCESSOR_BACKENDS, LinVTFamily, register_family, register_legacy_video_tokenizer_renamings
from .modeling import internvl as internvl_modeling
from .modeling import llava as llava_modeling
from .modeling import llava_onevision as llava_onevision_modeling
from .modeling import molmo as molmo_modeling
from .modeling import molmo2 as molmo2_modeling
from .modeling import qwen2_vl as qwen2_vl_modeling
from .modeling import qwen3_vl as qwen3_vl_modeling
from .modeling import qwen3_vl_moe as qwen3_vl_moe_modeling
from .modeling import smolvlm as smolvlm_modeling
from .modeling import xgenmm as xgenmm_modeling
from .processing import internvl as internvl_processing
from .processing import llava as llava_processing
from .processing import llava_onevision as llava_onevision_processing
from .processing import molmo as molmo_processing
from .processing import molmo2 as molmo2_processing
from .processing import qwen2_vl as qwen2_vl_processing
from .processing import qwen3_vl as qwen3_vl_processing
from .processing import smolvlm as smolvlm_processing
from .processing import xgenmm as xgenmm_processing


def register_families() -> None:
    """Register the shipped families; safe to call more than once."""
    register_legacy_video_tokenizer_renamings()
    register_family(
        LinVTFamily(
            image_llm_model_type="qwen2_vl",
            config_class=qwen2_vl_modeling.LinVTQwen2VLConfig,
            model_class=qwen2_vl_modeling.LinVTQwen2VLModel,
            for_generation_class=qwen2_vl_modeling.LinVTQwen2VLForConditionalGeneration,
            processor_class=qwen2_vl_processing.LinVTQwen2VLProcessor,
            language_model="model.language_model",
            vision_modules=("model.visual",),
            tiny_image_llm_config=lambda processor, text: qwen2_vl_modeling.tiny_image_llm_config(processor, "qwen2_vl", text),
            tiny_processor_parts=qwen2_vl_processing.tiny_processor_parts,
            checkpoint_conversions=qwen2_vl_modeling.checkpoint_conversions("LinVTQwen2VL"),
            legacy_renames=qwen2_vl_modeling.LEGACY_RENAMES,
        )
    )
    register_family(
        LinVTFamily(
            image_llm_model_type="qwen2_5_vl",
            config_class=qwen2_vl_modeling.LinVTQwen2_5_VLConfig,
            model_class=qwen2_vl_modeling.LinVTQwen2_5_VLModel,
            for_generation_class=qwen2_vl_modeling.LinVTQwen2_5_VLForConditionalGeneration,
            processor_class=qwen2_vl_processing.LinVTQwen2_5_VLProcessor,
            language_model="model.language_model",
            vision_modules=("model.visual",),
            tiny_image_llm_config=lambda processor, text: qwen2_vl_modeling.tiny_image_llm_config(processor, "qwen2_5_vl", text),
            tiny_processor_parts=qwen2_vl_processing.tiny_processor_parts,
            checkpoint_conversions=qwen2_vl_modeling.checkpoint_conversions("LinVTQwen2_5_VL"),
            legacy_renames=qwen2_vl_modeling.LEGACY_RENAMES,
        )
    )
    register_family(
        LinVTFamily(
            image_llm_model_type="qwen3_vl",
            config_class=qwen3_vl_modeling.LinVTQwen3VLConfig,
            model_class=qwen3_vl_modeling.LinVTQwen3VLModel,
            for_generation_class=qwen3_vl_modeling.LinVTQwen3VLForConditionalGeneration,
            processor_class=qwen3_vl_processing.LinVTQwen3VLProcessor,
            language_model="model.language_model",
            vision_modules=("model.visual",),
            tiny_image_llm_config=qwen3_vl_modeling.tiny_image_llm_config,
            tiny_processor_parts=qwen3_vl_processing.tiny_processor_parts,
        )
    )
    # Qwen3-VL-MoE's processor is Qwen3-VL's (Qwen3VLProcessor): the family shares LinVT's Qwen3-VL processor.
    register_family(
        LinVTFamily(
            image_llm_model_type="qwen3_vl_moe",
            config_class=qwen3_vl_moe_modeling.LinVTQwen3VLMoeConfig,
            model_class=qwen3_vl_moe_modeling.LinVTQwen3VLMoeModel,
            for_generation_class=qwen3_vl_moe_modeling.LinVTQwen3VLMoeForConditionalGeneration,
            processor_class=qwen3_vl_processing.LinVTQwen3VLProcessor,
            language_model="model.language_model",
            vision_modules=("model.visual",),
            tiny_image_llm_config=qwen3_vl_moe_modeling.tiny_image_llm_config,
            tiny_processor_parts=qwen3_vl_processing.tiny_processor_parts,
        )
    )
    register_family(
        LinVTFamily(
            image_llm_model_type="smolvlm",
            config_class=smolvlm_modeling.LinVTSmolVLMConfig,
            model_class=smolvlm_modeling.LinVTSmolVLMModel,
            for_generation_class=smolvlm_modeling.LinVTSmolVLMForConditionalGeneration,
            processor_class=smolvlm_processing.LinVTSmolVLMProcessor,
            language_model="model.text_model",
            vision_modules=("model.vision_model", "model.connector"),
            tiny_image_llm_config=smolvlm_modeling.tiny_image_llm_config,
            tiny_processor_parts=smolvlm_processing.tiny_processor_parts,
        )
    )
    register_family(
        LinVTFamily(
            image_llm_model_type="internvl",
            config_class=internvl_modeling.LinVTInternVLConfig,
            model_class=internvl_modeling.LinVTInternVLModel,
            for_generation_class=internvl_modeling.LinVTInternVLForConditionalGeneration,
            processor_class=internvl_processing.LinVTInternVLProcessor,
            language_model="model.language_model",
            vision_modules=("model.vision_tower", "model.multi_modal_projector"),
            tiny_image_llm_config=internvl_modeling.tiny_image_llm_config,
            tiny_processor_parts=internvl_processing.tiny_processor_parts,
            checkpoint_conversions=internvl_modeling.CHECKPOINT_CONVERSIONS,
            legacy_renames=internvl_modeling.LEGACY_RENAMES,
        )
    )
    register_family(
        LinVTFamily(
            image_llm_model_type="llava_onevision",
            config_class=llava_onevision_modeling.LinVTLlavaOnevisionConfig,
            model_class=llava_onevision_modeling.LinVTLlavaOnevisionModel,
            for_generation_class=llava_onevision_modeling.LinVTLlavaOnevisionForConditionalGeneration,
            processor_class=llava_onevision_processing.LinVTLlavaOnevisionProcessor,
            language_model="model.language_model",
            vision_modules=("model.vision_tower", "model.multi_modal_projector"),
            tiny_image_llm_config=llava_onevision_modeling.tiny_image_llm_config,
            tiny_processor_parts=llava_onevision_processing.tiny_processor_parts,
            checkpoint_conversions=llava_onevision_modeling.CHECKPOINT_CONVERSIONS,
            legacy_renames=llava_onevision_modeling.LEGACY_RENAMES,
        )
    )
    register_family(
        LinVTFamily(
            image_llm_model_type="llava",
            config_class=llava_modeling.LinVTLlavaConfig,
            model_class=llava_modeling.LinVTLlavaModel,
            for_generation_class=llava_modeling.LinVTLlavaForConditionalGeneration,
            processor_class=llava_processing.LinVTLlavaProcessor,
            language_model="model.language_model",
            vision_modules=("model.vision_tower", "model.multi_modal_projector"),
            tiny_image_llm_config=llava_modeling.tiny_image_llm_config,
            tiny_processor_parts=llava_processing.tiny_processor_parts,
            checkpoint_conversions=llava_modeling.CHECKPOINT_CONVERSIONS,
        )
    )
    register_family(
        LinVTFamily(
            image_llm_model_type="molmo2",
            config_class=molmo2_modeling.LinVTMolmo2Config,
            model_class=molmo2_modeling.LinVTMolmo2Model,
            for_generation_class=molmo2_modeling.LinVTMolmo2ForConditionalGeneration,
            processor_class=molmo2_processing.LinVTMolmo2Processor,
            language_model="model.language_model",
            vision_modules=("model.vision_tower", "model.multi_modal_projector"),
            tiny_image_llm_config=molmo2_modeling.tiny_image_llm_config,
            tiny_processor_parts=molmo2_processing.tiny_processor_parts,
            checkpoint_conversions=molmo2_modeling.checkpoint_conversions(),
            image_processor_class=molmo2_processing.LinVTMolmo2ImageProcessor,
        )
    )
    # xGen-MM (BLIP-3) is linvt-hf's own port (transformers has none): its processor joins the Auto classes here.
    AutoProcessor.register(xgenmm_modeling.XGenMMConfig, xgenmm_processing.XGenMMProcessor, exist_ok=True)
    register_family(
        LinVTFamily(
            image_llm_model_type="xgenmm",
            config_class=xgenmm_modeling.LinVTXGenMMConfig,
            model_class=xgenmm_modeling.LinVTXGenMMModel,
            for_generation_class=xgenmm_modeling.LinVTXGenMMForConditionalGeneration,
            processor_class=xgenmm_processing.LinVTXGenMMProcessor,
            language_model="model.language_model",
            vision_modules=("model.vision_tower", "model.perceiver_resampler"),
            tiny_image_llm_config=xgenmm_modeling.tiny_image_llm_config,
            tiny_processor_parts=xgenmm_processing.tiny_processor_parts,
        )
    )

    # Molmo (v1) is linvt-hf's own port too (transformers has Molmo2 only): its processors join the Auto classes here.
    AutoImageProcessor.register(
        molmo_modeling.MolmoConfig,
        image_processor_classes={backend: molmo_processing.MolmoImageProcessor for backend in VIDEO_PROCESSOR_BACKENDS},
        exist_ok=True,
    )
    AutoProcessor.register(molmo_modeling.MolmoConfig, molmo_processing.MolmoProcessor, exist_ok=True)
    register_family(
        LinVTFamily(
            image_llm_model_type="molmo",
            config_class=molmo_modeling.LinVTMolmoConfig,
            model_class=molmo_modeling.LinVTMolmoModel,
            for_generation_class=molmo_modeling.LinVTMolmoForConditionalGeneration,
            processor_class=molmo_processing.LinVTMolmoProcessor,
            language_model="model.language_model",
            vision_modules=("model.vision_tower", "model.multi_modal_projector"),
            tiny_image_llm_config=molmo_modeling.tiny_image_llm_config,
            tiny_processor_parts=molmo_processing.tiny_processor_parts,
            image_processor_class=molmo_processing.MolmoImageProcessor,
        )
    )


__all__ = ["register_families"]
