"""Action handlers. BUILTIN_ACTIONS is the one ordered list of the built-in kinds."""

from __future__ import annotations

from app.actions.approval import ApprovalAction
from app.actions.delay import DelayAction
from app.actions.discord import DiscordSendMessageAction
from app.actions.example import ExampleAction
from app.actions.filter import FilterAction
from app.actions.gmail_send import GmailSendAction
from app.actions.http_request import HttpRequestAction
from app.actions.llm_chat import LlmChatAction
from app.actions.log import LogAction
from app.actions.loop import LoopAction
from app.actions.notion import NotionAppendBlockAction, NotionCreatePageAction
from app.actions.paths import PathsAction
from app.actions.run_workflow import RunWorkflowAction
from app.actions.send_email import SendEmailAction
from app.actions.sheets_append_row import SheetsAppendRowAction
from app.actions.slack import SlackMessageAction
from app.actions.telegram import TelegramSendMessageAction
from app.actions.transform import TransformAction
from app.actions.wait_for_call import WaitForCallAction

BUILTIN_ACTIONS = (
    TransformAction,
    FilterAction,
    PathsAction,
    LoopAction,
    DelayAction,
    WaitForCallAction,
    ApprovalAction,
    RunWorkflowAction,
    LogAction,
    HttpRequestAction,
    SlackMessageAction,
    SendEmailAction,
    GmailSendAction,
    SheetsAppendRowAction,
    NotionCreatePageAction,
    NotionAppendBlockAction,
    TelegramSendMessageAction,
    DiscordSendMessageAction,
    LlmChatAction,
    ExampleAction,
)
