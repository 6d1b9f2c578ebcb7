"""`linvt-hf convert --from LAYOUT SRC_DIR DST_DIR`: an original checkpoint of one of the paper's image-LLMs into
transformers' native layout, ready for `LinVTForConditionalGeneration.from_backbone(DST_DIR)`.

Layouts: internvl2 (InternVL2's remote-code checkpoint -> internvl), llava_next_aquila (Aquila-VL-2B / LLaVA-NeXT
Qwen2 checkpoint -> llava_onevision), mipha (Mipha's LLaVA-Phi checkpoint -> llava), xgenmm (xGen-MM / BLIP-3's
remote-code checkpoint -> linvt-hf's xgenmm port), molmo (allenai's remote-code Molmo-7B-D checkpoint -> linvt-hf's
molmo port). See docs/conversions.md.
A key the conversion does not recognise is an error naming it; DST_DIR must be empty unless --overwrite.
"""

from __future__ import annotations

import argparse
import json

from ..conversions import CONVERSIONS, convert_checkpoint


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "convert",
        help="convert an original image-LLM checkpoint (InternVL2, Aquila-VL, Mipha, xGen-MM, Molmo) into "
        "transformers' layout",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--from", dest="layout", required=True, choices=sorted(CONVERSIONS), help="original layout")
    parser.add_argument("source", metavar="SRC_DIR", help="folder of the original checkpoint (config.json, weights)")
    parser.add_argument("destination", metavar="DST_DIR", help="output folder (must be empty unless --overwrite)")
    parser.add_argument("--overwrite", action="store_true", help="replace the contents of a non-empty DST_DIR")
    parser.add_argument("--image-token-id", type=int, default=None, help="id of the image placeholder token "
                        "(default: <IMG_CONTEXT> / <image> in SRC_DIR's tokenizer files)")
    parser.add_argument("--video-token-id", type=int, default=None,
                        help="llava_next_aquila: id of the <video> token (default: from the tokenizer files)")
    parser.add_argument("--vision-config", default=None, metavar="JSON",
                        help="llava_next_aquila, xgenmm: SigLIP fields the checkpoint lacks, as a JSON object, for a tower "
                        "other than google/siglip-so400m-patch14-384 (e.g. '{\"num_attention_heads\": 16}'); "
                        "molmo: CLIP fields for a ViT other than the released one")
    parser.add_argument("--drop-lm-head-bias", action="store_true",
                        help="mipha: write a plain LLaVA folder without Phi's lm_head bias (default: kept, with "
                        "lm_head_bias: true, which LinVT-LLaVA reads and transformers' LLaVA cannot hold)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    options: dict = {}
    if args.image_token_id is not None:
        if args.layout == "molmo":
            raise ValueError("--image-token-id does not apply to --from molmo: <im_patch>'s id follows from the rows")
        options["image_token_id"] = args.image_token_id
    if args.video_token_id is not None:
        if args.layout != "llava_next_aquila":
            raise ValueError("--video-token-id applies to --from llava_next_aquila only")
        options["video_token_id"] = args.video_token_id
    if args.vision_config is not None:
        if args.layout not in ("llava_next_aquila", "xgenmm", "molmo"):
            raise ValueError("--vision-config applies to --from llava_next_aquila, xgenmm and molmo only")
        try:
            options["vision_config"] = json.loads(args.vision_config)
        except json.JSONDecodeError as error:
            raise ValueError(f"--vision-config is not a JSON object: {error}") from None
    if args.drop_lm_head_bias:
        if args.layout != "mipha":
            raise ValueError("--drop-lm-head-bias applies to --from mipha only")
        options["drop_lm_head_bias"] = True
    report = convert_checkpoint(args.layout, args.source, args.destination, overwrite=args.overwrite, **options)
    print(report)
    return 0
