"""Recognition with a trained or exported model: offline (:class:`Recognizer`) and streaming
(:class:`StreamingRecognizer`). Command lines: ``serkit-infer`` and ``serkit-stream``."""
from serkit.infer.recognizer import Prediction, Recognizer  # noqa: F401
from serkit.infer.streaming import StreamEvent, StreamingRecognizer  # noqa: F401
