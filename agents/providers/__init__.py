"""Model providers: local ONNX Runtime GenAI models and remote OpenAI-compatible servers, behind one registry."""
