"""The pattern table of the injection guard: phrasings that address the model, by family, in nine languages.

Each pattern runs on normalised text (NFKC, zero-width characters removed, whitespace collapsed within lines,
lower case; see guards.normalise). ``needles`` are groups of plain substrings ("a|b&c|d": a or b, and c or d) that
must occur before the regular expression is tried: they keep a scan of clean text cheap. A family counts once per
text, at the weight of its strongest match; a text is suspicious when its families (and hidden-text signals) add up
to 1.

Weights below 1 are for phrasings that ordinary documents also use ("send the form to hr@...", "never share your
password", "open http://localhost:8080"): alone they flag nothing, next to another signal they do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Pattern:
    family: str
    weight: float
    needles: tuple[frozenset[str], ...]
    regex: re.Pattern[str]
    negatable: bool = False  # "never share your password" is advice, not a request: a negation just before voids it


# What each family means, as the user reads it in a warning.
FAMILIES = {
    "override": "asks the model to ignore its instructions",
    "persona": "tries to give the model a new role",
    "prompt": "asks about the model's system prompt",
    "addressed": "addresses an AI model reading the text",
    "tools": "asks the model to use a tool",
    "exfiltrate": "asks to send data somewhere",
    "secrets": "asks for keys or passwords",
    "open": "asks to open a web address",
    "write": "asks to write or delete files",
    "secrecy": "asks the model to hide something from the user",
    "dictate": "dictates the model's answer",
    "directive": "gives orders to 'you'",
    "roles": "contains fake chat-role markers",
    "tool_json": "contains a tool call written as JSON",
}

_W = r"(?:[\w'’-]+\s+)"  # one word and the space after it
_URL_OR_MAIL = r"(?:https?://|www\.|ftp://|[\w.+-]+@[\w-]+\.[\w.]+)"
_TOOL_NAMES = r"(?:write_note|open_path|read_file|search_files|list_recent_files|summarize_file|send_email|" \
              r"send_message|http_request|run_shell|execute_code|browse|fetch_url)"


def _p(family: str, weight: float, needles: str, regex: str, negatable: bool = False) -> Pattern:
    groups = tuple(frozenset(group.split("|")) for group in needles.split("&"))
    return Pattern(family, weight, groups, re.compile(regex, re.M), negatable)


PATTERNS: tuple[Pattern, ...] = (
    # -- English ---------------------------------------------------------------------------------------------
    _p("override", 1.0, "ignore|disregard|forget|override|bypass|skip&previous|prior|above|earlier|preceding|"
       "foregoing|original|initial|former|system|developer",
       rf"\b(?:ignore|disregard|forget|override|bypass|skip)\s+{_W}{{0,3}}?(?:previous|prior|above|earlier|"
       r"preceding|foregoing|original|initial|former|system|developer)\s+(?:instructions?|prompts?|directions?|"
       r"rules|guidelines|guidance|context|messages?|commands?|orders|constraints|programming)"),
    _p("override", 1.0, "ignore|disregard|forget",
       rf"\b(?:ignore|disregard|forget)\s+(?:all|any|every|your)\s+{_W}{{0,2}}?(?:instructions?|prompts?|rules|"
       r"guidelines|directions?|programming)\b"),
    _p("override", 1.0, "ignore|disregard|forget",
       r"\b(?:ignore|disregard|forget)\s+(?:everything|anything|all)\s+(?:above|before|previously|so far|"
       r"you (?:were|have been) told|(?:i|we) said)"),
    _p("override", 1.0, "ignore|disregard", r"\b(?:ignore|disregard)\s+(?:the\s+)?(?:above|foregoing)\b"),
    _p("override", 1.0, "stop|cease", r"\b(?:stop|cease)\s+(?:following|obeying)\s+(?:your|the|all|any)\b"),
    _p("override", 0.6, "ignore|disregard", r"\b(?:ignore|disregard)\s+the\s+(?:instructions|rules)\b"),
    _p("override", 0.8, "instruction|task|goal|objective",
       r"\b(?:new|updated|real|actual|revised)\s+(?:instructions?|task|goal|objective)s?\s*(?::|is\b|are\b)"),
    _p("override", 0.8, "your new", r"\byour\s+new\s+(?:instructions?|task|goal|objective|orders?)\b"),
    _p("override", 0.5, "from now on", r"\bfrom now on\b,?\s+(?:you|your|always|never|only|respond|answer)"),
    _p("persona", 0.6, "you are", r"\byou are (?:now|no longer)\b"),
    _p("persona", 1.0, "you are",
       r"\byou are now (?:an? |the )?(?:unrestricted|unfiltered|jailbroken|uncensored|evil|dan\b|"
       r"in (?:developer|god|admin|debug|jailbreak) mode)"),
    _p("persona", 0.4, "developer mode|god mode|jailbreak|dan mode",
       r"\b(?:developer|god|jailbreak|dan) mode\b|\bjailbreak(?:ed|ing)?\b"),
    _p("persona", 0.5, "pretend|imagine", r"\b(?:pretend|imagine)\s+(?:to be|you are|that you are|you're)\b"),
    _p("persona", 0.6, "act as|behave as|respond as|roleplay|role-play",
       r"\b(?:act|behave|respond)\s+as\s+(?:if you (?:were|are)|an? (?:ai|assistant|model|unrestricted|different))|"
       r"\brole-?play as\b"),
    _p("persona", 0.9, "your new", r"\byour new (?:name|persona|role|identity|personality) is\b"),
    _p("prompt", 0.5, "prompt",
       r"\b(?:system|initial|original|hidden|secret|developer|pre)[\s-]?prompts?\b"),
    _p("prompt", 1.0, "your|system prompt|initial prompt|hidden instructions",
       rf"\b(?:reveal|print|show|display|repeat|output|tell me|leak|disclose|dump|recite|give me|write out|share)\s+"
       rf"{_W}{{0,2}}?(?:your (?:system prompt|initial prompt|instructions|prompt|rules|configuration)|"
       r"the (?:system prompt|initial prompt|hidden instructions))"),
    _p("prompt", 0.6, "system|developer&override|instruction",
       r"\b(?:system|developer)\s+(?:override|instructions?)\b"),
    _p("addressed", 0.7, "note|message|instruction|attention|warning|important|hey|dear|hello|reminder&ai|llm|"
       "language model|chatbot|copilot|gpt|claude|gemini",
       r"\b(?:note|message|instructions?|attention|warning|important|hey|dear|hello|reminder)\b[\s,:!-]*"
       r"(?:to|for)?\s*(?:the\s+|all\s+|any\s+)?(?:ai(?: assistants?| agents?| models?| systems?)?|llms?|"
       r"large language models?|language models?|chatbots?|copilots?|chatgpt|gpt|claude|gemini)\b"),
    _p("addressed", 0.8, "you are a|you are an",
       r"\b(?:if|when) you are an? (?:ai|llm|large language model|language model|ai assistant|chatbot|bot)\b"),
    _p("addressed", 0.8, "as an ai|as a language model",
       r"\bas an? (?:ai|language model|llm)(?: assistant| model)?,? you (?:must|should|will|need)"),
    _p("addressed", 0.8, "reading this|processing this|summarizing this|summarising this|analyzing this|"
       "analysing this",
       r"\b(?:ai|llms?|assistants?|models?|agents?|bots?) (?:that (?:is|are) )?(?:reading|processing|summari[sz]ing|"
       r"analy[sz]ing) this\b"),
    _p("addressed", 0.7, "hey|hi|hello|dear|attention|assistant,|ai,|bot,|model,",
       r"(?:^|[.!?]\s)(?:hey|hi|hello|dear|attention)?[\s,:]*(?:ai|assistant|bot|chatbot|llm|language model|"
       r"ai model|model|agent)\s*[,:!]\s+(?!\w+\s+(?:is|are|was|were|has|have)\b)"),
    _p("addressed", 0.8, "automated|ai |the model|the assistant|the bot",
       r"\b(?:any\s+|all\s+|the\s+)?(?:automated|ai)\s+(?:readers?|summari[sz]ers?|agents?|assistants?|systems?|"
       r"tools?)\s+(?:must|should|shall|are (?:required|asked|instructed) to)\b|\bas the (?:model|ai|assistant|bot|"
       r"agent) (?:handling|reading|processing|summari[sz]ing|answering)"),
    _p("addressed", 0.9, "you are helping|you are assisting|you are talking to|using you|you are working for",
       r"\bthe (?:person|user|human|customer) (?:you are (?:helping|assisting|talking to|working for)|"
       r"(?:who is )?using you)\b"),
    _p("override", 1.0, "told|said",
       r"\b(?:whatever|everything|anything|what) (?:you (?:were|have been) told|(?:i|we|they) (?:said|told you))"
       r"(?: (?:before|earlier|previously|so far|above))?,? (?:no longer|does not|doesn't|do not|don't|is no longer)"),
    _p("override", 1.0, "overrid|supersed|replac",
       r"\b(?:overrides?|supersedes?|replaces?)\s+(?:all\s+)?your\s+(?:configuration|instructions|programming|"
       r"rules|settings|guidelines|system prompt)"),
    _p("override", 0.6, "void|invalid|cancel|obsolete|supersed|no longer",
       r"\b(?:earlier|previous|prior|original|above|initial) (?:guidance|instructions|directions|rules|prompt)s? "
       r"(?:is|are) (?:now )?(?:void|invalid|cancell?ed|obsolete|superseded|no longer valid)"),
    _p("override", 0.8, "skip|bypass|disable|suspend|lift",
       r"\b(?:skip|bypass|disable|ignore)\s+(?:all\s+)?your\s+(?:usual\s+)?(?:checks|safety|rules|guidelines|"
       r"filters|restrictions|guardrails)|\b(?:safety|content)\s+(?:rules|filters|guidelines|checks) (?:are|have "
       r"been) (?:now )?(?:suspended|disabled|lifted|off|removed)"),
    _p("prompt", 0.9, "hidden|initial|setup|system|secret",
       r"\byour (?:hidden|initial|setup|system|secret|original) (?:text|prompt|instructions|message|configuration)"),
    _p("secrecy", 0.5, "quietly|secretly|silently|covertly",
       r"\b(?:quietly|secretly|silently|covertly)\s+(?:store|save|send|add|remember|open|write|upload|forward|"
       r"include|insert|delete|change)"),
    _p("tools", 0.5, "store the fact|remember the fact|save the fact",
       r"\b(?:store|remember|save) the fact\b"),
    _p("directive", 0.3, "you must|you should|you shall|you need to|you have to|you are to|you are required|"
       "you are instructed|you will now|kindly|please",
       r"\byou (?:must|should|shall|need to|have to|are to|are (?:required|instructed) to|will now)\b|"
       r"\b(?:kindly|please) (?:tell|say|output|include|summari[sz]e|respond|reply|answer|ignore|open|send|write|"
       r"state|add)\b"),
    _p("tools", 0.8, "_", rf"\b(?:call|invoke|use|run|execute|trigger)\s+(?:the\s+)?`?{_TOOL_NAMES}\b"),
    _p("tools", 0.6, "remember|forget", r"\b(?:call|invoke)\s+(?:the\s+)?(?:remember|forget)\s+(?:tool|function)\b"),
    _p("tools", 0.5, "tool|function|plugin&call|invoke|use|run|execute|trigger",
       r"\b(?:call|invoke|use|run|execute|trigger)\s+(?:the\s+|a\s+|your\s+)?(?:[\w-]+\s+){0,2}?"
       r"(?:tool|function|plugin)s?\b(?!\s+(?:of|for|to|that|which|in|on))"),
    _p("tools", 0.4, "_", rf"\b{_TOOL_NAMES}\b"),
    _p("exfiltrate", 0.7, "send|upload|post|forward|mail|transmit|exfiltrate|leak|submit|paste&http|www|ftp",
       r"\b(?:send|upload|post|forward|e-?mail|transmit|exfiltrate|leak|submit|paste)\s+(?:\S+\s+){0,6}?"
       r"(?:to|at|into)\s+(?:https?://|www\.|ftp://)"),
    _p("exfiltrate", 0.4, "send|upload|post|forward|mail|transmit|submit&@|this url|this address|this link|"
       "this server|this endpoint|this email|this e-mail|the following",
       rf"\b(?:send|upload|post|forward|e-?mail|mail|transmit|submit)\s+(?:\S+\s+){{0,6}}?(?:to|at|into)\s+"
       rf"(?:{_URL_OR_MAIL}|this (?:url|address|link|server|endpoint|e-?mail)|"
       r"the following (?:url|address|link|server|endpoint|e-?mail))"),
    _p("exfiltrate", 0.8, "send|upload|post|forward|mail|transmit|exfiltrate|leak&user|conversation|chat|"
       "contents of|everything|all ",
       r"\b(?:send|upload|post|forward|e-?mail|transmit|exfiltrate|leak)\s+(?:me\s+)?(?:the user'?s?\b|"
       r"(?:the|this) (?:conversation|chat)|(?:the |your )?chat history|the contents of|everything\b|"
       r"all (?:of )?(?:the |your |their )?(?:files|documents|notes|data|emails|messages|memories)\b)"),
    _p("secrets", 0.7, "key|password|passphrase|credential|token|.env|environment variable|cookie&reveal|send|"
       "share|print|output|give|list|leak|expose|include|paste|upload|copy|read|dump",
       rf"\b(?:reveal|send|share|print|output|give|list|leak|expose|include|paste|upload|copy|read|dump)\s+{_W}{{0,3}}?"
       r"(?:api[\s_-]?keys?|secret[\s_-]?keys?|passwords?|passphrases?|credentials|access[\s_-]tokens?|tokens|"
       r"ssh[\s_-]keys?|private[\s_-]keys?|\.env\b|environment variables|cookies)", negatable=True),
    _p("open", 0.4, "http|www",
       rf"\b(?:open|visit|navigate to|go to|browse to|fetch|load|click)\s+(?:this\s+|the\s+following\s+)?"
       rf"(?:url|link|address|page|site|website)?\s*:?\s*{_URL_OR_MAIL}"),
    _p("write", 0.5, "file|note&named|called|titled|with the title|with the name",
       r"\b(?:write|save|create|overwrite|delete|remove|modify)\s+(?:a\s+|the\s+|this\s+)?(?:new\s+)?(?:file|note)\s+"
       r"(?:named|called|titled|with the (?:title|name))"),
    _p("secrecy", 0.8, "user&not|don't|never|without",
       r"\b(?:do not|don't|never|without)\s+(?:tell(?:ing)?|inform(?:ing)?|mention(?:ing)?|alert(?:ing)?|"
       r"notify(?:ing)?|ask(?:ing)?|warn(?:ing)?)\s+(?:this\s+|it\s+|anything\s+)?(?:to\s+)?(?:the\s+|this\s+)?user\b"),
    _p("secrecy", 0.8, "mention|reveal",
       r"\b(?:do not|don't|never)\s+(?:mention|reveal|disclose)\s+(?:these instructions|this instruction|"
       r"that you (?:were|have been)|this message)"),
    _p("dictate", 0.4, "respond|reply|answer with|answer only|answer must|answer should|answer shall|response must|"
       "response should|response shall|output must|output should|reply must|instead",
       r"\b(?:respond|reply|answer)\s+(?:only\s+)?with\b|\b(?:your|the) (?:answer|response|reply|output) "
       r"(?:must|should|shall) (?:be|say|start|begin|contain|include)\b|\binstead,?\s+(?:say|respond|answer|reply|"
       r"tell the user)\b"),
    _p("roles", 1.0, "<|[inst]|[/inst]|<<sys>>",
       r"<\|\s*(?:im_start|im_end|im_sep|system|assistant|user|endoftext|begin_of_text|start_header_id|"
       r"end_header_id|eot_id)\s*\|>|\[/?inst\]|<</?sys>>"),
    _p("roles", 0.5, "system|assistant|user|human|instruction|response|ai&:",
       r"^(?:#+\s*)?(?:system|assistant|user|human|ai|instruction|response)\s*:"),
    _p("tool_json", 0.8, "tool_call|function_call|tool_use",
       r"\"(?:tool_calls?|function_call|tool_use)\"\s*:"),
    _p("tool_json", 0.8, "\"name\"|\"tool\"|\"function\"|\"action\"",
       r"\{\s*\"(?:name|tool|function|action)\"\s*:\s*\"[\w.-]+\"\s*,\s*\"(?:arguments|args|parameters|input|"
       r"action_input)\"\s*:"),
    # -- French ----------------------------------------------------------------------------------------------
    _p("override", 1.0, "ignor|oubli|néglig|neglig",
       rf"\b(?:ignore[rz]?|oublie[rz]?|n[ée]glige[rz]?)\s+{_W}{{0,3}}?(?:instructions?|consignes?|directives?|"
       r"r[èe]gles)\s+(?:pr[ée]c[ée]dentes?|ant[ée]rieures?|ci-dessus|initiales?|d'origine)"),
    _p("override", 1.0, "ignor|oubli",
       r"\b(?:ignore[rz]?|oublie[rz]?)\s+(?:toutes\s+)?(?:les|tes|vos)\s+(?:instructions|consignes)\b"),
    _p("persona", 0.6, "maintenant|désormais|desormais",
       r"\b(?:tu es|vous [êe]tes) (?:maintenant|d[ée]sormais)\b"),
    _p("prompt", 0.5, "prompt|invite", r"\b(?:prompt|invite) (?:syst[èe]me|initial)\b"),
    _p("prompt", 1.0, "révèle|revele|montre|affiche&prompt|invite|instructions|consignes",
       r"\b(?:r[ée]v[èe]le[rz]?|montre[rz]?|affiche[rz]?)\s+(?:moi\s+)?(?:ton|votre|le|tes|vos)\s+"
       r"(?:prompt|invite|instructions|consignes)"),
    _p("exfiltrate", 0.7, "envo|transmet|téléverse|televerse",
       rf"\b(?:envo(?:ie[rz]?|yer|yez)|transmets|transmettez|t[ée]l[ée]verse[rz]?)\s+(?:\S+\s+){{0,6}}?"
       rf"(?:à|a|vers)\s+{_URL_OR_MAIL}"),
    _p("secrecy", 0.8, "utilisateur&ne |sans ",
       r"\bne\s+(?:le\s+|la\s+|les\s+|rien\s+)?(?:dis|dites|mentionne[zr]?|r[ée]v[èe]le[zr]?|signale[zr]?)\s+"
       r"(?:pas\s+|rien\s+)?(?:à|a|aux?)\s+l'?utilisateur|\bsans\s+(?:le\s+)?(?:dire|pr[ée]venir|informer)\s+"
       r"(?:à\s+)?l'utilisateur"),
    _p("addressed", 0.8, "pour l'|pour les|à l'|a l'|à les|si tu es|si vous",
       r"\b(?:note|message|consigne)s?\s+(?:pour|[àa])\s+(?:l'|les\s+)(?:ia|assistants?\b|intelligence artificielle)|"
       r"\bsi (?:tu es|vous [êe]tes) une? (?:ia|intelligence artificielle|assistant|mod[èe]le de langage)\b"),
    _p("tools", 0.5, "l'outil|la fonction",
       r"\b(?:utilise[rz]?|appelle[rz]?|ex[ée]cute[rz]?)\s+(?:l'outil|la fonction)\b"),
    # -- German ----------------------------------------------------------------------------------------------
    _p("override", 1.0, "ignorier|vergiss|vergessen|missacht|übergeh",
       rf"\b(?:ignorier(?:e|en|t)?|vergiss|vergessen|missachte(?:n|t)?|übergehe(?:n)?)\s+(?:sie\s+)?{_W}{{0,2}}?"
       r"(?:vorherigen|bisherigen|obigen|vorigen|früheren|ursprünglichen|alle|allen|deine|ihre|sämtliche)\s+"
       rf"{_W}?(?:anweisungen|instruktionen|befehle|regeln|vorgaben|richtlinien)"),
    _p("persona", 0.6, "du bist|sie sind", r"\b(?:du bist|sie sind) (?:jetzt|nun|ab sofort)\b"),
    _p("prompt", 0.5, "prompt|systemanweisung", r"\bsystem-?prompt\b|\bsystemanweisung"),
    _p("prompt", 1.0, "zeig|verrat|gib&prompt|anweisungen",
       r"\b(?:zeige?|verrate?|gib)\s+(?:mir\s+)?(?:deinen|deine|den|ihren|ihre)\s+(?:system-?prompt|prompt|"
       r"anweisungen)"),
    _p("exfiltrate", 0.7, "send|schick|übermittl|lade",
       rf"\b(?:sende|schicke?|übermittle|lade)\s+(?:\S+\s+){{0,6}}?(?:an|nach|zu|auf)\s+{_URL_OR_MAIL}"),
    _p("secrecy", 0.8, "benutzer|nutzer|anwender&sag|erzähl|erwähn|ohne",
       r"\b(?:sag|sage|erzähle?|erwähne)\s+(?:\w+\s+)?(?:dem|den)\s+(?:benutzer|nutzer|anwender)\s+(?:nichts|nicht)|"
       r"\bohne\s+(?:den|dem)\s+(?:benutzer|nutzer|anwender)\s+(?:zu\s+)?(?:informieren|fragen|benachrichtigen)"),
    _p("addressed", 0.8, "hinweis|nachricht|anweisung|wenn du&ki|sprachmodell",
       r"\b(?:hinweis|nachricht|anweisung)\s+(?:an|für)\s+(?:die\s+|den\s+)?(?:ki|sprachmodell|ki-assistenten)\b|"
       r"\bwenn du (?:eine? )?(?:ki|sprachmodell|ki-assistent)\s+bist"),
    # -- Spanish ---------------------------------------------------------------------------------------------
    _p("override", 1.0, "ignor|olvid|descart|omit",
       rf"\b(?:ignora|ignore|ignoren|olvida|olvide|olviden|descarta|omite)\s+{_W}{{0,3}}?(?:instrucciones|"
       r"indicaciones|órdenes|ordenes|reglas)\s+(?:anteriores|previas|de arriba|iniciales|originales)"),
    _p("override", 1.0, "ignor|olvid",
       r"\b(?:ignora|olvida|ignore|olvide)\s+(?:todas\s+)?(?:tus|sus|las)\s+instrucciones\b"),
    _p("persona", 0.6, "ahora eres", r"\b(?:a partir de )?ahora eres\b"),
    _p("prompt", 0.5, "prompt del sistema|instrucciones del sistema", r"\b(?:prompt|instrucciones) del sistema\b"),
    _p("prompt", 1.0, "revela|muestra|dime&prompt|instrucciones",
       r"\b(?:revela|muestra|dime)(?:me)?\s+(?:tu|el|tus)\s+(?:prompt|instrucciones)"),
    _p("exfiltrate", 0.7, "envía|envia|manda|sube|reenv",
       rf"\b(?:env[íi]a|manda|sube|reenv[íi]a)(?:lo|la|los|las)?\s+(?:\S+\s+){{0,6}}?a\s+{_URL_OR_MAIL}"),
    _p("secrecy", 0.8, "usuario&no |sin ",
       r"\bno\s+(?:se\s+lo\s+|le\s+)?(?:digas|menciones|informes|cuentes)\s+(?:nada\s+)?al\s+usuario|"
       r"\bsin\s+(?:decirle|avisar|informar)(?:le)?\s+al\s+usuario"),
    _p("addressed", 0.8, "nota para|mensaje para|si eres",
       r"\b(?:nota|mensaje)\s+para\s+(?:la\s+ia|el\s+asistente|el\s+modelo)\b|"
       r"\bsi eres una? (?:ia|modelo de lenguaje|asistente)\b"),
    # -- Italian ---------------------------------------------------------------------------------------------
    _p("override", 1.0, "ignor|dimentic|trascur",
       rf"\b(?:ignora|ignorate|dimentica|dimenticate|trascura)\s+{_W}{{0,3}}?(?:istruzioni|indicazioni|regole|"
       r"direttive)\s+(?:precedenti|sopra|iniziali|originali)"),
    _p("override", 1.0, "ignor|dimentic",
       r"\b(?:ignora|dimentica)\s+(?:tutte\s+)?(?:le\s+)?(?:tue\s+)?istruzioni\b"),
    _p("persona", 0.6, "ora sei|adesso sei|poi sei", r"\b(?:ora|adesso|da ora in poi) sei\b"),
    _p("prompt", 0.5, "prompt di sistema", r"\bprompt di sistema\b"),
    _p("prompt", 1.0, "rivela|mostra|dimmi&prompt|istruzioni",
       r"\b(?:rivela(?:mi)?|mostra(?:mi)?|dimmi)\s+(?:il tuo|il|le tue)\s+(?:prompt|istruzioni)"),
    _p("exfiltrate", 0.7, "invia|manda|carica|inoltra",
       rf"\b(?:invia|manda|carica|inoltra)(?:lo|la|li|le)?\s+(?:\S+\s+){{0,6}}?a\s+{_URL_OR_MAIL}"),
    _p("secrecy", 0.8, "utente&non |senza ",
       r"\bnon\s+(?:dirlo|dire\s+(?:niente|nulla)|informare|avvisare)\s+(?:all')?utente|"
       r"\bsenza\s+(?:dirlo|avvisare|informare)\s+(?:all')?utente"),
    _p("addressed", 0.8, "se sei|nota per|messaggio per",
       r"\bse sei (?:un'|una |un )?(?:ia|intelligenza artificiale|assistente|modello linguistico)\b|"
       r"\b(?:nota|messaggio)\s+per\s+(?:l'ia|l'assistente|il modello)\b"),
    # -- Portuguese ------------------------------------------------------------------------------------------
    _p("override", 1.0, "ignor|esque|desconsider",
       rf"\b(?:ignore|ignora|ignorem|esqueça|esqueca|esqueçam|desconsidere|desconsidera)\s+{_W}{{0,3}}?"
       r"(?:instruções|instrucoes|orientações|orientacoes|regras|ordens)\s+(?:anteriores|acima|prévias|previas|"
       r"iniciais|originais)"),
    _p("override", 1.0, "ignor|esque",
       r"\b(?:ignore|esqueça|esqueca)\s+(?:todas\s+)?(?:as\s+)?(?:suas\s+)?(?:instruções|instrucoes)\b"),
    _p("persona", 0.6, "você|voce", r"\b(?:a partir de )?agora (?:você|voce) é\b|\b(?:você|voce) agora é\b"),
    _p("prompt", 0.5, "prompt do sistema", r"\bprompt do sistema\b"),
    _p("prompt", 1.0, "revele|mostre|diga&prompt|instru",
       r"\b(?:revele|mostre|diga-me)\s+(?:o seu|seu|o|as suas|suas)\s+(?:prompt|instruções|instrucoes)"),
    _p("exfiltrate", 0.7, "envie|mande|carregue|encaminhe",
       rf"\b(?:envie|mande|carregue|encaminhe)\s+(?:\S+\s+){{0,6}}?para\s+{_URL_OR_MAIL}"),
    _p("secrecy", 0.8, "usuário|usuario&não|sem ",
       r"\bnão\s+(?:conte|diga|informe|mencione)\s+(?:nada\s+)?(?:ao|para o)\s+usu[áa]rio|"
       r"\bsem\s+(?:avisar|informar|contar)\s+(?:ao|o)\s+usu[áa]rio"),
    _p("addressed", 0.8, "se você|se voce|nota para|mensagem para",
       r"\bse (?:você|voce) (?:é|for) uma? (?:ia|inteligência artificial|assistente|modelo de linguagem)\b|"
       r"\b(?:nota|mensagem)\s+para\s+(?:a\s+ia|o\s+assistente|o\s+modelo)\b"),
    # -- Chinese ---------------------------------------------------------------------------------------------
    _p("override", 1.0, "忽略|无视|忽视|不要理会|忘记|忘掉|放弃",
       r"(?:忽略|无视|忽视|不要理会|忘记|忘掉|放弃)掉?你?(?:之前|以前|先前|上面|上述|前面|以上|原来|原有|所有|全部|一切)"
       r"的?(?:所有|全部)?的?(?:指令|指示|说明|提示|规则|命令|设定|要求)"),
    _p("persona", 0.6, "你现在是|从现在", r"你现在是|从现在(?:开始|起)[，,]?\s*你(?:是|将|要)"),
    _p("prompt", 0.5, "系统提示|系统指令", r"系统提示|系统指令"),
    _p("prompt", 1.0, "透露|显示|输出|告诉我|泄露|打印",
       r"(?:透露|显示|输出|告诉我|泄露|打印)你?的?(?:系统)?(?:提示词|提示|指令)"),
    _p("exfiltrate", 0.7, "发送|上传|转发|发到|发给",
       rf"(?:发送|上传|转发|发)(?:\S{{0,20}}?)(?:到|给|至)\s*{_URL_OR_MAIL}"),
    _p("secrecy", 0.8, "用户", r"(?:不要|别|不许)(?:告诉|通知|让)用户"),
    _p("addressed", 0.8, "如果你是|作为", r"(?:如果你是|作为)(?:一个|一名)?(?:ai|人工智能|语言模型|ai助手|助手)"),
    _p("tools", 0.5, "工具|函数", r"(?:调用|使用|执行)\S{0,10}?(?:工具|函数)"),
    # -- Russian ---------------------------------------------------------------------------------------------
    _p("override", 1.0, "игнорир|забуд|проигнорир|не обращай|отбрось",
       rf"(?:игнорируй|игнорируйте|забудь|забудьте|проигнорируй|проигнорируйте|не обращай внимания на|отбрось)\s+"
       rf"{_W}{{0,2}}?(?:предыдущие|прошлые|прежние|вышеуказанные|вышеприведённые|вышеприведенные|все|свои|"
       rf"изначальные|исходные)\s+{_W}?(?:инструкции|указания|команды|правила|установки)"),
    _p("persona", 0.6, "теперь ты|отныне ты|ты теперь", r"\b(?:теперь ты|отныне ты|ты теперь)\b"),
    _p("prompt", 0.5, "системн", r"\bсистемн\w*\s+(?:промпт|подсказк|инструкц)\w*"),
    _p("prompt", 1.0, "покажи|раскрой|выведи|сообщи",
       r"\b(?:покажи|раскрой|выведи|сообщи)\s+(?:мне\s+)?(?:свой|свои|твой|твои|системный)\s+"
       r"(?:промпт|инструкции|подсказку)"),
    _p("exfiltrate", 0.7, "отправ|перешли|загрузи|пошли",
       rf"\b(?:отправь|отправьте|перешли|перешлите|загрузи|пошли)\s+(?:\S+\s+){{0,6}}?(?:на|по адресу|в)\s+"
       rf"{_URL_OR_MAIL}"),
    _p("secrecy", 0.8, "пользовател",
       r"\bне\s+(?:говори|сообщай|рассказывай|говорите|сообщайте)\s+(?:об этом\s+)?пользователю|"
       r"\bбез ведома пользователя"),
    _p("addressed", 0.8, "если ты", r"\bесли ты\s+(?:ии|ai|языковая модель|ассистент|бот|нейросеть)\b"),
    # -- Japanese --------------------------------------------------------------------------------------------
    _p("override", 1.0, "無視|忘れ",
       r"(?:以前|前|上記|これまで|先|最初|元)の(?:すべての|全ての)?(?:指示|命令|指令|ルール|設定|プロンプト)"
       r"(?:は|を)?(?:すべて|全て)?(?:無視|忘れ)|(?:すべて|全て)の(?:指示|命令)を無視"),
    _p("persona", 0.6, "あなたは", r"(?:今から|これから)?あなたは(?:今|もう)"),
    _p("prompt", 0.5, "システムプロンプト", r"システムプロンプト"),
    _p("prompt", 1.0, "表示|出力|教えて|公開|明かして",
       r"(?:システムプロンプト|指示|プロンプト)を(?:表示|出力|教えて|公開|明かして)"),
    _p("exfiltrate", 0.7, "送信|アップロード|転送",
       rf"{_URL_OR_MAIL}\S*\s*(?:に|へ)\S{{0,10}}?(?:送信|アップロード|転送)"),
    _p("secrecy", 0.8, "ユーザー", r"ユーザーに(?:は)?(?:言わ|伝え|知らせ|教え)ない"),
    _p("addressed", 0.7, "メッセージ|指示|注意|お願い&への|に",
       r"(?:ai|人工知能|言語モデル|アシスタント)(?:への|に)(?:メッセージ|指示|注意|お願い)"),
)

NEEDLES: tuple[str, ...] = tuple(sorted({needle for p in PATTERNS for group in p.needles for needle in group}))
ASCII_NEEDLES: tuple[str, ...] = tuple(n for n in NEEDLES if n.isascii())  # all an ASCII text can hold
