"""MLServer custom runtimes for the pipeline tests: small models with exactly known answers."""
import asyncio
import json
import urllib.error
import urllib.request

import numpy as np
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.errors import MLServerError
from mlserver.types import InferenceRequest, InferenceResponse, Parameters, ResponseOutput


class BadRequest(MLServerError):
    """A request the model cannot answer: MLServer answers 400 with the message (a plain exception gives 500)."""


def _input(request: InferenceRequest, name: str) -> np.ndarray:
    for tensor in request.inputs:
        if tensor.name == name:
            return NumpyCodec.decode_input(tensor)
    raise BadRequest(f"input {name} is missing; the request has {[t.name for t in request.inputs]}")


def _output(name: str, array: np.ndarray):
    tensor = NumpyCodec.encode_output(name=name, payload=array)
    tensor.shape = list(array.shape)  # the codec would make a 1-D array [n, 1]; keep the shape asked for
    return tensor


def _response(model: MLModel, request: InferenceRequest, outputs: dict) -> InferenceResponse:
    return InferenceResponse(
        model_name=model.name,
        id=request.id,
        outputs=[_output(name, array) for name, array in outputs.items()],
    )


class AddSubtract(MLModel):
    """INPUT0, INPUT1 (INT32 [1,16]) -> OUTPUT0 = sum, OUTPUT1 = difference."""

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        a, b = _input(payload, "INPUT0"), _input(payload, "INPUT1")
        if a.dtype != np.int32 or b.dtype != np.int32:
            raise BadRequest(f"INPUT0 and INPUT1 must be INT32, got {a.dtype} and {b.dtype}")
        return _response(self, payload, {"OUTPUT0": a + b, "OUTPUT1": a - b})


class AddTen(MLModel):
    """INPUT (FP32 [4]) -> OUTPUT = INPUT + 10."""

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        return _response(self, payload, {"OUTPUT": (_input(payload, "INPUT") + 10).astype(np.float32)})


class MultiplyByTen(MLModel):
    """INPUT (FP32 [4]) -> OUTPUT = INPUT * 10."""

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        return _response(self, payload, {"OUTPUT": (_input(payload, "INPUT") * 10).astype(np.float32)})


class Router(MLModel):
    """CHOICE (INT32 [1]), INPUT -> INPUT as OUTPUT0 when CHOICE is 0, as OUTPUT1 otherwise (never both)."""

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        choice = int(_input(payload, "CHOICE").flatten()[0])
        return _response(self, payload, {"OUTPUT0" if choice == 0 else "OUTPUT1": _input(payload, "INPUT")})


class Identity(MLModel):
    """Every input back as an output of the same name."""

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        return _response(self, payload, {tensor.name: NumpyCodec.decode_input(tensor) for tensor in payload.inputs})


class SumInt64(MLModel):
    """INPUT0, INPUT1 (INT64) -> OUTPUT = INPUT0 + INPUT1."""

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        total = (_input(payload, "INPUT0") + _input(payload, "INPUT1")).astype(np.int64)
        return _response(self, payload, {"OUTPUT": total})


class SlowUnload(MLModel):
    """INPUT (FP32 [4]) -> OUTPUT = INPUT + 10, taking 3 s to unload: a model whose unloading can be watched."""

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        return _response(self, payload, {"OUTPUT": (_input(payload, "INPUT") + 10).astype(np.float32)})

    async def unload(self) -> bool:
        await asyncio.sleep(3)
        return True


class EchoExplainer(MLModel):
    """Explainer-shaped, as MLServer's alibi-explain runtime: reads `infer_uri` and `explainer_type` from
    `parameters.extra` (written there when the explainer is placed), calls what it explains at that URL with the
    request, and answers with the outputs it got back, the URL and the type as response parameters."""

    async def load(self) -> bool:
        extra = (self.settings.parameters.extra if self.settings.parameters else None) or {}
        self._infer_uri = extra.get("infer_uri")
        self._explainer_type = extra.get("explainer_type")
        if not self._infer_uri or not self._explainer_type:
            raise MLServerError(f"infer_uri and explainer_type must be set in parameters.extra, found {extra}")
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        # As alibi's runtime builds its requests: the input tensors alone.
        inputs = [tensor.model_dump(exclude_none=True, exclude={"parameters"}) for tensor in payload.inputs]
        body = json.dumps({"inputs": inputs}).encode()

        def call() -> dict:
            request = urllib.request.Request(self._infer_uri, data=body, headers={"content-type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as error:
                raise BadRequest(f"{self._infer_uri} answered {error.code}: {error.read().decode(errors='replace')}")

        answer = await asyncio.to_thread(call)
        return InferenceResponse(
            model_name=self.name,
            id=payload.id,
            outputs=[ResponseOutput(**output) for output in answer["outputs"]],
            parameters=Parameters(infer_uri=self._infer_uri, explainer_type=self._explainer_type),
        )
