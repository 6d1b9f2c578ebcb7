"""What the frame-based families (InternVL, LLaVA-OneVision) share: frames in chunks, video tokens via `inputs_embeds`.

Their processors give videos as plain frames (`pixel_values_videos` `[total_steps, 3, H, W]`, the videos one after
the other, as many frames each as `video_frame_mask` marks), and their base models take no ready-made video tokens
next to raw images (InternVL has no video input; LLaVA-OneVision takes `mm_encoder_outputs`, but then no
`pixel_values`). So the video tokens go in through `inputs_embeds` and the image-LLM is called with those embeddings
and everything else unchanged. It then places images itself, finding its image placeholders by comparing embeddings
with its image token's embedding; `check_image_placeholders` makes sure this finds exactly the positions `input_ids`
holds, so images are processed as the image-LLM processes them, bit for bit.
"""

from __future__ import annotations

import os
from typing import Any

import torch


class LinVTFrameVideoPath:
    r"""
    LinVT's hooks for a family whose processor gives videos as frames; the family implements `encode_frames` (frames
    -> per-frame tokens through the image-LLM's own vision path) and `frame_grid`.
    """

    def encode_frames(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Per-frame tokens of a run of frames: `[F, 3, H, W]` -> `[F, N, D]` (one vision call: the caller chunks)."""
        raise NotImplementedError

    def frame_grid(self, height: int, width: int) -> tuple[int, int]:
        """`(rows, cols)` of the `N` tokens `encode_frames` gives a `height` x `width` frame (row-major)."""
        raise NotImplementedError

    # Named in the errors about frames (e.g. "LinVT-LLaVA").
    frame_family: str = "LinVT"

    def frame_size(self) -> tuple[int, int] | None:
        """`(height, width)` every frame must have (the vision encoder's image size), or None for any size."""
        return None

    def image_input_shapes(self) -> list[tuple[int | str, ...]]:
        # Images as frames are: [num_images, C, height, width] at `frame_size` (not checked when it is None).
        size = self.frame_size()
        channels = getattr(self.config.vision_config, "num_channels", 3)
        return [("num_images", channels, *size)] if size is not None else []

    def frame_features(
        self, pixel_values_videos: torch.Tensor, video_grid_thw: torch.Tensor | None, frames_per_video: list[int]
    ) -> list[torch.Tensor]:
        """Per-frame tokens of each video, `[T_v, N, D]`; at most `config.vision_chunk_size` frames per vision call
        (frames are independent images, so chunks may span videos).

        Raises:
            ValueError: the frames are not `[F, C, height, width]` (`frame_size`), or not as many as
                `frames_per_video` counts.
        """
        self.check_frame_shape(pixel_values_videos)
        if sum(frames_per_video) != pixel_values_videos.shape[0]:
            raise ValueError(
                f"video_frame_mask marks {sum(frames_per_video)} frames but pixel_values_videos holds "
                f"{pixel_values_videos.shape[0]}"
            )
        chunks = [self.encode_frames(piece) for piece in pixel_values_videos.split(self.config.vision_chunk_size)]
        return list(torch.cat(chunks, dim=0).split(frames_per_video))

    def check_frame_shape(self, pixel_values_videos: torch.Tensor) -> None:
        """Frames must be `[F, C, height, width]`: the vision encoder's channels and `frame_size` (any size when
        None).

        Raises:
            ValueError: another shape, named with the one expected and the family.
        """
        channels = getattr(self.config.vision_config, "num_channels", 3)
        size = self.frame_size()
        shape = tuple(pixel_values_videos.shape)
        if len(shape) != 4 or shape[1] != channels or (size is not None and shape[2:] != tuple(size)):
            height, width = ("H", "W") if size is None else size
            raise ValueError(
                f"{self.frame_family}: pixel_values_videos must be frames of shape [num_frames, {channels}, {height}, "
                f"{width}] (the vision encoder's image size), got {shape}; prepare videos with this family's LinVT "
                "processor (LinVTProcessor.from_backbone)"
            )

    def frame_token_grids(
        self, pixel_values_videos: torch.Tensor, video_grid_thw: torch.Tensor | None, num_videos: int
    ) -> list[tuple[int, int]]:
        return [self.frame_grid(*pixel_values_videos.shape[-2:])] * num_videos

    def forward_with_video_embeds(self, input_ids: torch.LongTensor, inputs_embeds: torch.Tensor, **kwargs: Any) -> Any:
        kwargs.pop("video_grid_thw", None)
        if kwargs.get("pixel_values") is not None:
            self.check_image_placeholders(input_ids, inputs_embeds)
        return self.image_llm_forward(inputs_embeds=inputs_embeds, **kwargs)

    def check_image_placeholders(self, input_ids: torch.LongTensor, inputs_embeds: torch.Tensor) -> None:
        """Raise unless the positions whose embedding equals the image token's (how the image-LLM finds its image
        placeholders without `input_ids`) are exactly the image token positions of `input_ids`."""
        image_token_id = self.config.image_token_id
        image_embed = self.get_input_embeddings()(torch.tensor(image_token_id, device=inputs_embeds.device))
        found = (inputs_embeds == image_embed).all(-1)
        if not torch.equal(found, (input_ids == image_token_id).to(found.device)):
            raise ValueError(
                f"{int(found.sum())} positions have the image token's embedding but the prompts hold "
                f"{int((input_ids == image_token_id).sum())} image tokens (id {image_token_id}): another token shares "
                "its embedding, so the image-LLM could not place the images of this batch; pass images and videos "
                "in separate calls"
            )


__all__ = ["LinVTFrameVideoPath"]


class LinVTAddedVideoToken:
    r"""
    For a family whose tokenizers have no video token (LLaVA, SmolVLM): the LinVT processor adds `added_video_token`
    to a copy of the tokenizer, and `from_backbone` gives the model the same id. A family's
    `...ForConditionalGeneration` lists this before `LinVTForConditionalGeneration` and sets the two class attributes.
    """

    added_video_token: str = "<video>"
    family_name: str = "LinVT"

    @classmethod
    def linvt_config(cls, image_llm_config: Any, video_tokenizer_config: Any, name: str | None, fields: dict) -> Any:
        if fields.get("video_token_id") is None:
            fields = {**fields, "video_token_id": cls.video_token_id_of(name)}
        return super().linvt_config(image_llm_config, video_tokenizer_config, name, fields)

    @classmethod
    def video_token_id_of(cls, name_or_path: str | os.PathLike | None) -> int:
        """The id of `added_video_token` for the checkpoint `name_or_path`: its tokenizer's, or, when the tokenizer
        lacks it, the id the LinVT processor gives the token it adds (the tokenizer's length).

        Raises:
            ValueError: no checkpoint name to read the tokenizer from.
        """
        from transformers import AutoTokenizer

        if name_or_path is None:
            raise ValueError(
                f"{cls.family_name}: the image-LLM's config has no video token: pass video_token_id= (the LinVT "
                "processor's video_token_id gives it), or give the image-LLM by name so that its tokenizer can be read"
            )
        tokenizer = AutoTokenizer.from_pretrained(os.fspath(name_or_path))
        token_id = tokenizer.convert_tokens_to_ids(cls.added_video_token)
        if token_id is None or token_id == tokenizer.unk_token_id:
            return len(tokenizer)
        return token_id
