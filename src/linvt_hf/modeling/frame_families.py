"""What the frame-based families (InternVL, LLaVA-OneVision) share: frames in chunks, video tokens via `inputs_embeds`.

Their processors give a video as plain frames (`pixel_values_videos` `[total_frames, 3, H, W]`, the videos one after
the other, `video_num_frames` frames each), and their image-LLMs' forwards take no ready-made video tokens next to raw
images (InternVL has no video input; LLaVA-OneVision takes `mm_encoder_outputs`, but then no `pixel_values`). So the
video tokens go in through `inputs_embeds`: the prompt is embedded with the
LLM's own table, the LinVT tokens are scattered at the video placeholders, and the image-LLM is called with those
embeddings and everything else unchanged. The image-LLM then places images itself, finding its image placeholders by
comparing embeddings with its image token's embedding; `check_image_placeholders` makes sure this finds exactly the
positions `input_ids` holds, so images are processed as the image-LLM processes them, bit for bit.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.modeling_outputs import CausalLMOutputWithPast


class LinVTFrameVideoMixin:
    r"""
    Mixin for a `LinVTForConditionalGeneration` family whose processor gives videos as frames and whose image-LLM
    places its own images (see the module docstring). The family implements `encode_frames` (frames -> per-frame
    tokens through the image-LLM's own vision path) and `frame_grid`.
    """

    def encode_frames(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Per-frame tokens of a run of frames: `[F, 3, H, W]` -> `[F, N, D]`, through the image-LLM's vision encoder
        and projector (one call: the caller chunks)."""
        raise NotImplementedError

    def frame_grid(self, height: int, width: int) -> tuple[int, int]:
        """`(rows, cols)` of the `N` tokens `encode_frames` gives a `height` x `width` frame (row-major)."""
        raise NotImplementedError

    def frame_token_grids(self, video_inputs: dict[str, Any]) -> list[tuple[int, int]]:
        pixels = video_inputs["pixel_values_videos"]
        num_videos = len(self._frames_per_video(video_inputs, pixels.shape[0]))
        return [self.frame_grid(*pixels.shape[-2:])] * num_videos

    def frame_tokens(self, video_inputs: dict[str, Any]) -> list[torch.Tensor]:
        """Per-frame tokens of each video, `[T_v, N, D]` each; at most `config.vision_chunk_size` frames per vision
        call (frames are independent images, so chunks may span videos)."""
        pixels = video_inputs["pixel_values_videos"]
        counts = self._frames_per_video(video_inputs, pixels.shape[0])
        chunks = [self.encode_frames(piece) for piece in pixels.split(self.config.vision_chunk_size)]
        return list(torch.cat(chunks, dim=0).split(counts))

    @staticmethod
    def _frames_per_video(video_inputs: dict[str, Any], total_frames: int) -> list[int]:
        num_frames = video_inputs.get("video_num_frames")
        if num_frames is None:
            frame_mask = video_inputs.get("video_frame_mask")
            if frame_mask is None:
                return [total_frames]  # one video
            num_frames = frame_mask.sum(-1)
        counts = [int(n) for n in num_frames.tolist()]
        if sum(counts) != total_frames:
            raise ValueError(
                f"video_num_frames sums to {sum(counts)} frames but pixel_values_videos holds {total_frames}"
            )
        return counts

    def image_llm_forward_with_video(
        self,
        input_ids: torch.LongTensor,
        video_embeds: torch.Tensor,
        image_llm_kwargs: dict[str, Any],
        video_mask: torch.BoolTensor,
    ) -> CausalLMOutputWithPast:
        """Embed `input_ids` `[B, L]`, put `video_embeds` `[total_video_tokens, D]` at the video placeholders
        `video_mask` `[B, L]`, and run the image-LLM on those embeddings (it embeds its images itself)."""
        inputs_embeds = self.embed_with_videos(input_ids, video_embeds, video_mask)
        if image_llm_kwargs.get("pixel_values") is not None:
            self.check_image_placeholders(input_ids, inputs_embeds)
        return self.image_llm(inputs_embeds=inputs_embeds, **image_llm_kwargs)

    def check_image_placeholders(self, input_ids: torch.LongTensor, inputs_embeds: torch.Tensor) -> None:
        """Raise unless the positions whose embedding equals the image token's (how the image-LLM finds its image
        placeholders without `input_ids`) are exactly the image token positions of `input_ids`."""
        image_token_id = self.image_llm.config.image_token_id
        image_embed = self.get_input_embeddings()(torch.tensor(image_token_id, device=inputs_embeds.device))
        found = (inputs_embeds == image_embed).all(-1)
        if not torch.equal(found, (input_ids == image_token_id).to(found.device)):
            raise ValueError(
                f"{int(found.sum())} positions have the image token's embedding but the prompts hold "
                f"{int((input_ids == image_token_id).sum())} image tokens (id {image_token_id}): another token shares "
                "its embedding, so the image-LLM could not place the images of this batch; pass images and videos "
                "in separate calls"
            )


__all__ = ["LinVTFrameVideoMixin"]
