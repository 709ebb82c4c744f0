"""The canonical LLM model: requests, responses, content parts and stream events.

Every wire codec (adapters/codecs) decodes into these types and encodes from them, so N formats
need N codecs. Pure: standard library and msgspec only.
"""

from aigateway.domain.llm.chat import (
    ChatRequest,
    ChatResponse,
    Message,
    StopReason,
    Thinking,
    Tool,
    ToolChoice,
    Usage,
)
from aigateway.domain.llm.content import (
    ImagePart,
    OpaquePart,
    Part,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultContent,
    ToolResultPart,
    parse_tool_arguments,
)
from aigateway.domain.llm.errors import (
    ApiError,
    ErrorType,
    UnsupportedContent,
    error_type_for_status,
)
from aigateway.domain.llm.formats import Operation, WireFormat
from aigateway.domain.llm.stream import (
    BlockKind,
    BlockStart,
    BlockStop,
    MessageDelta,
    MessageStart,
    MessageStop,
    Ping,
    SignatureDelta,
    StreamError,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolArgumentsDelta,
)

__all__ = [
    "ApiError",
    "BlockKind",
    "BlockStart",
    "BlockStop",
    "ChatRequest",
    "ChatResponse",
    "ErrorType",
    "ImagePart",
    "Message",
    "MessageDelta",
    "MessageStart",
    "MessageStop",
    "OpaquePart",
    "Operation",
    "Part",
    "Ping",
    "SignatureDelta",
    "StopReason",
    "StreamError",
    "StreamEvent",
    "TextDelta",
    "TextPart",
    "Thinking",
    "ThinkingDelta",
    "ThinkingPart",
    "Tool",
    "ToolArgumentsDelta",
    "ToolCallPart",
    "ToolChoice",
    "ToolResultContent",
    "ToolResultPart",
    "UnsupportedContent",
    "Usage",
    "WireFormat",
    "error_type_for_status",
    "parse_tool_arguments",
]
