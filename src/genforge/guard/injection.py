"""Prompt-injection and jailbreak detection from weighted, explainable evidence.

Each rail holds a table of cues: a regular expression, a name and a weight in ``[0, 1]`` saying how much
that cue alone suggests an attack. Cues that look for a *target* (instructions, the system prompt, safety
rules) next to an *action* (ignore, reveal, bypass) keep ordinary sentences such as "ignore case when
comparing strings" or "enable developer mode on Android" below the threshold, while combinations of weak
cues add up: the score is the noisy-OR ``1 - prod(1 - w)`` of the cues found, damped when the text only
talks *about* attacks ("what is a prompt injection?"). Every cue found is reported as a finding, so a
verdict says why it fired. The same rail runs on retrieved chunks, since documents can carry injections.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pydantic import Field

from genforge.guard.base import Finding, Rail, RailConfig, RailContext, noisy_or, register_rail
from genforge.guard.normalize import decoded_variants, normalize

_GAP = r"[^.!?\n]{0,%d}?"


def _g(n: int) -> str:
    return _GAP % n


@dataclass(frozen=True)
class Cue:
    name: str
    pattern: re.Pattern
    weight: float


def _cue(name: str, weight: float, pattern: str, flags: int = re.IGNORECASE) -> Cue:
    return Cue(name, re.compile(pattern, flags), weight)


_TARGETS = (
    r"(?:instructions?|directions|prompts?|rules|directives?|guidelines|guardrails|constraints|restrictions|"
    r"programming|polic(?:y|ies)|commands?|orders|context|training|conditioning|"
    r"safety (?:rules|guidelines|measures|filters))"
)
# "the old instructions in the README": instructions of a named artifact, not of the assistant
_ARTIFACT = (
    r"(?!\s+(?:in|from|of|for|on) (?:the|this|that|my|our|your) (?:readme|manual|docs?|documentation|email|file|"
    r"wiki|guide|article|ticket|book|page|repo|repository|website|form|box|package)\b)"
    # "override the system instructions by editing the YAML", "forget the previous commands: run make"
    r"(?![^.!?\n]{0,40}\bby (?:editing|setting|changing|passing|using|adding)\b)(?!\s*:\s*(?:run|type|use|execute)\b)"
)
_QUALIFIERS = (
    r"(?:previous|prior|above|earlier|preceding|former|initial|original|system|all|any|every|your|the|these|"
    r"those|existing|current|old|given|developer)"
)
_PROMPT_TARGET = (
    r"(?:system prompt|system message|pre-?prompt|initial prompt|hidden prompt|original prompt|developer message|"
    r"your (?:instructions|rules|guidelines|prompt|directives|configuration|initial instructions)|"
    r"(?:the )?(?:instructions|text|words|prompt|message)s? (?:above|before this|you were given)|everything above|"
    r"everything (?:that (?:appears|is|was) |written )?(?:above|before) this (?:message|line|point)|"
    r"(?:the )?(?:hidden|secret|internal|confidential|operator'?s?|original|initial) (?:instructions|rules|prompt|guidelines))"
    # "print the system prompt length in tokens" asks about the prompt, not for it
    r"(?!'?s?\s+(?:length|size|tokens?|token count|count|file|format|template|variable|field|setting|option|parameter)\b)"
)

INJECTION_CUES = [
    _cue("override_instructions", 0.9,
         rf"\b(?:ignore|disregard|forget|override|bypass|skip|abandon|discard|neglect|set aside)\b{_g(30)}\b{_QUALIFIERS}\b{_g(25)}\b{_TARGETS}\b{_ARTIFACT}"),
    _cue("override_paraphrase", 0.8,
         rf"\b(?:pay no attention to|ignore|disregard|forget|stop following|don't follow|do not follow|no longer follow|throw out|drop)\b{_g(30)}\b(?:you (?:were|have been|'ve been) (?:told|given|instructed|asked|programmed|set up)|(?:what|everything|anything) (?:i|we|they|someone) (?:said|told you) (?:before|earlier|previously))"),
    # the same request in other languages (accents are stripped before matching)
    _cue("override_instructions_translated", 0.9,
         r"\b(?:ignore[zr]?|oublie[zr]?) (?:toutes )?(?:les|tes|vos) (?:instructions|consignes)(?: (?:precedentes|anterieures|ci-dessus))?"
         r"|\b(?:ignorier(?:e|en sie)?|vergiss|vergessen sie) (?:alle )?(?:vorherigen |bisherigen |vorigen |obigen )?(?:anweisungen|instruktionen|befehle)"
         r"|\b(?:ignora(?:r)?|olvida(?:r)?) (?:todas )?(?:las|tus) instrucciones(?: (?:anteriores|previas))?"
         r"|\b(?:ignora|dimentica) (?:tutte )?le (?:tue )?istruzioni(?: (?:precedenti|sopra))?"
         r"|\bignore (?:todas )?as instrucoes anteriores"
         r"|(?:忽略|无视|忘记|忘掉)[^。！？\n]{0,8}(?:指令|指示|说明|提示|规则)"
         r"|(?:игнорир\w*|забуд\w*|не обращаи внимания на) (?:все )?(?:предыдущ\w+ |прежн\w+ )?(?:инструкци\w*|указани\w*|правил\w*)"),
    _cue("override_everything", 0.85,
         rf"\b(?:ignore|disregard|forget)\s+(?:everything|all(?: of)? (?:that|this|it))\b{_g(30)}\b(?:above|before|previous(?:ly)?|so far|you(?:'ve| have) been told|said|earlier)\b"),
    _cue("instructions_invalidated", 0.8,
         rf"\b(?:previous|above|prior|earlier|original|old)\s+{_TARGETS}\s+(?:were|are|is|was)\s+(?:wrong|fake|a test|outdated|void|cancell?ed|revoked|no longer (?:valid|apply|applicable|in effect))"),
    _cue("new_instructions", 0.45,
         r"\b(?:new|updated|real|actual|true|revised|secret|hidden|additional)\s+(?:instructions?|directives?|system prompt|system message)\s*[:\-]"),
    _cue("new_task", 0.3, r"\b(?:new|updated|real|actual|true|secret|hidden)\s+(?:task|objective|goal|mission)\s*[:\-]"),
    _cue("reassigned_task", 0.7,
         r"\byour (?:new|real|true|actual|only) (?:task|goal|purpose|instructions?|objective|job|mission) (?:is|are|will be)\b"),
    _cue("prompt_exfiltration", 0.85,
         rf"\b(?:reveal|show|print|repeat|output|display|tell|give|leak|dump|expose|share|write out|list|recite|spell out|paste|return)\b{_g(25)}\b{_PROMPT_TARGET}"),
    _cue("prompt_question", 0.7,
         r"\bwhat (?:is|are|were) (?:your|the) (?:system prompt|initial instructions|hidden instructions|original instructions|instructions you were given|pre-?prompt)"),
    _cue("role_markup", 0.6,
         r"(?<![`'\x22])<\|?(?:im_start|im_end|system|endoftext|start_header_id)\|?>|\[/?(?:INST|SYS)\]|<</?SYS>>|</?(?:system|assistant|instructions?)>"),
    _cue("fake_system_turn", 0.6,
         r"(?m)^[ \t]*(?:#{2,}[ \t]*)?(?:system|assistant|admin|developer|instructions?)\s*(?:message|prompt|note)?\s*:\s*(?:you|ignore|from now|new|disregard|forget|override)"),
    _cue("addressed_to_ai", 0.7,
         r"\b(?:note|message|attention|instructions?|important|reminder|text|comment|p\.?s\.?)\s+(?:to|for)\s+(?:the |any |all )?(?:ai|assistant|chatbot|llm|language model|model|bot|gpt|summari[sz]er(?: model)?)s?\b"),
    _cue("ai_reading_must", 0.6,
         rf"\b(?:ai|assistant|chatbot|language model|llm|gpt|bot|model)s?\b{_g(30)}\b(?:reading|processing|summari[sz]\w*|that reads|parsing)\b{_g(40)}\b(?:must|should|shall|will|need to|are instructed to)\b"),
    _cue("conceal_from_user", 0.5,
         rf"\b(?:do not|don't|never)\s+(?:tell|inform|mention|reveal|let|alert|show)\b{_g(20)}\b(?:the user|anyone|the human|the reader|them)\b"),
    _cue("exfiltration_link", 0.6, r"!\[[^\]\n]{0,200}\]\(https?://[^)\s?&]{0,500}[?&][^)\s=]{0,200}=[^)\s]{0,2000}\)"),
    _cue("send_data_out", 0.35,
         rf"\b(?:send|post|forward|upload|exfiltrate|transmit|email)\b{_g(40)}\b(?:conversation|chat history|credentials|password|api key|secrets?|user data|personal data)\b{_g(30)}\bto\b"),
    _cue("canary_phrase", 0.7,
         rf"\b(?:say|print|output|respond with|reply with|write|answer with)\b{_g(20)}[\"'“]?(?:i have been pwned|pwned|hacked by|access granted)"),
    # linear: a payload run is only tried where it starts (lookbehind) and is consumed possessively
    _cue("encoded_payload", 0.5,
         rf"(?<![;/])\b(?:decode|base64|rot13|hex)\b{_g(60)}(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{{40}}|(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{{40,}}+={{0,2}}{_g(60)}\b(?:decode|execute|follow|run)\b"),
    _cue("fake_authority", 0.5,
         r"\b(?:this is (?:a|an|your) (?:authorized|official|admin(?:istrator)?|developer|system) (?:override|request|message|update|command)|admin(?:istrator)? override|sudo mode|maintenance mode override)\b"),
    _cue("from_now_on", 0.35, rf"\bfrom now on\b{_g(40)}\b(?:you|respond|answer|reply|act|only|always|never)\b"),
    _cue("instead_do", 0.3, rf"\binstead\b{_g(15)}\b(?:you (?:will|must|should)|say|print|output|respond|reply|write)\b"),
]  # fmt: skip

JAILBREAK_CUES = [
    _cue("dan_persona", 0.9, r"\b(?:DAN|STAN|DUDE|BetterDAN|AntiGPT|BasedGPT|UCAR)\b", 0),
    _cue("do_anything_now", 0.9, r"\bdo anything now\b"),
    _cue("unsafe_mode", 0.85,
         r"\b(?:god|jailbr(?:eak|oken)|unrestricted|evil|unfiltered|uncensored|chaos|opposite|DAN|no[- ]limits?|amoral|unlocked)\s+mode\b"),
    _cue("developer_mode", 0.45,
         r"\b(?:enable|enter|activate|switch to|you are (?:now )?in|simulate|turn on)\s+(?:developer|dev)\s+mode\b|\bdeveloper mode (?:enabled|activated|on)\b"),
    _cue("jailbreak_word", 0.35, r"\bjailbr(?:eak|eaks|eaking|oken)\b"),
    _cue("no_safety", 0.65,
         rf"\b(?:without|free (?:of|from)|no|zero|ignor(?:e|es|ing)|disabl(?:e|ed|es|ing)|remov(?:e|ed|ing)|turn off|bypass(?:ing)?|circumvent(?:ing)?|get around|evad(?:e|ing))\b{_g(20)}\b(?:censorship|ethic(?:s|al)|moral(?:s|ity)?|safety (?:guidelines|measures|filters?|protocols|rules|training)|content (?:polic(?:y|ies)|filters?|moderation)|filters?|filtering|guardrails|alignment)\b"),
    _cue("no_limits", 0.35,
         r"\b(?:without|free (?:of|from)|no|zero)\s+(?:any\s+)?(?:restrictions|limitations|limits|rules|boundaries)\b"),
    _cue("unbound", 0.7,
         r"\b(?:you are|you're|you have been|you've been)\s+(?:now\s+)?(?:free|freed|liberated|unchained|unshackled|released|no longer (?:bound|restricted|limited|constrained))\b|\b(?:broken|break(?:s|ing)?|broke) free (?:of|from)\b|\b(?:not|no longer) (?:bound|restricted|limited|constrained) by (?:any|your|the|openai|anthropic)"),
    _cue("persona_switch", 0.7,
         r"\byou are no longer (?:an? )?(?:ai|assistant|chatgpt|claude|language model|llm|chatbot)\b|\b(?:pretend|act as if|imagine) (?:that )?you (?:have no|don't have|do not have|aren't bound by|are not bound by|have been freed from)\b"),
    _cue("roleplay_frame", 0.3,
         r"\b(?:pretend (?:to be|you are|you're)|roleplay as|role-play as|act as|you will play|play the role of|from now on you are)\b"),
    _cue("stay_in_character", 0.45, r"\b(?:stay|remain|keep) in character\b|\bbreak(?:ing)? character\b"),
    _cue("amoral_persona", 0.6,
         rf"\b(?:unfiltered|amoral|uncensored|unrestricted|unethical|immoral|unhinged)\b{_g(20)}\b(?:chatbot|ai|assistant|model|bot|persona|character|version)\b"),
    _cue("rules_gone", 0.6,
         rf"\b(?:ethics|morals|rules|guidelines|restrictions|filters|limits)\b{_g(12)}\b(?:don't|do not|no longer|doesn't|does not) (?:exist|apply|matter)\b"),
    _cue("evil_twin", 0.5,
         r"\b(?:unfiltered|evil|uncensored|unrestricted|dark|rogue|jailbroken) (?:twin|alter ego|version of yourself|counterpart|side)\b"),
    _cue("dual_response", 0.5,
         r"\b(?:two|2|both|dual) (?:responses|answers|replies)\b|\b(?:respond|answer|reply) twice\b|\[(?:🔒|🔓|CLASSIC|JAILBREAK|GPT|DAN)[^\]]{0,12}\]"),
    _cue("never_refuse", 0.6,
         rf"\b(?:never|don't|do not|you can't|cannot|must not|will not|won't)\s+(?:refuse|decline|say no|say (?:that )?you can't|apologi[sz]e|add (?:any )?(?:warnings|disclaimers))\b|\bno (?:warnings|disclaimers)\b{_g(20)}\b(?:answer|respond|reply|allowed)"),
    _cue("hypothetical_frame", 0.3,
         r"\b(?:hypothetically|in a (?:fictional|hypothetical) (?:world|scenario|story|universe)|for a (?:novel|story|screenplay|movie) i'm writing|purely (?:fictional|hypothetical)|for educational purposes only)\b"),
    _cue("harmful_howto", 0.4,
         rf"\b(?:how to|step[- ]by[- ]step|detailed instructions|recipe|guide)\b{_g(40)}\b(?:make|build|synthesi[sz]e|cook|hack into|steal|poison|launder)\b{_g(30)}\b(?:bomb|explosives?|weapon|meth|drugs?|malware|ransomware|nerve agent|money|identity)\b"),
    _cue("grandma_exploit", 0.5,
         rf"\b(?:grandma|grandmother|granny|deceased|late)\b{_g(60)}\b(?:used to|would)\b{_g(40)}\b(?:tell|read|sing|recite|whisper)\b"),
    _cue("obfuscated_answer", 0.3,
         rf"\b(?:answer|respond|reply|write)\b{_g(25)}\b(?:in (?:leetspeak|rot13|base64|reverse)|backwards)\b"),
]  # fmt: skip

CUE_WEIGHTS = {cue.name: cue.weight for cue in INJECTION_CUES + JAILBREAK_CUES}

# Text that talks about attacks (a question, a defence) rather than performing one.
_META = re.compile(
    r"^\s*(?:what|how|why|explain|describe|define|can you explain|tell me about|is|are|does)\b[^?]{0,120}?"
    r"\b(?:prompt injections?|injection attacks?|jailbreaks?|jailbreaking|DAN prompts?)\b"
    r"|\b(?:detect|detecting|prevent|preventing|defend(?:ing)? against|protect(?:ing)? against|mitigat\w+|classify|"
    r"filter(?:ing)?|block(?:ing)?)\b[^.?!]{0,40}\b(?:prompt injections?|jailbreaks?|injection attacks?)\b",
    re.IGNORECASE,
)


class CueRailConfig(RailConfig):
    meta_damping: float = Field(
        0.4, ge=0.0, le=1.0, description="score factor for text that discusses attacks"
    )


def _cue_hits(text: str, cues: list[Cue], detail: str) -> dict[str, list[Finding]]:
    hits: dict[str, list[Finding]] = {}
    for cue in cues:
        found = [
            Finding(cue.name, m.start(), m.end(), cue.weight, detail) for m in cue.pattern.finditer(text)
        ]
        if found:
            hits[cue.name] = found
    return hits


@lru_cache(maxsize=256)
def all_cue_hits(text: str) -> dict[str, tuple[Finding, ...]]:
    """Every cue of both rails found in ``text``'s normalized form and decoded variants, computed once per text
    (the injection, jailbreak and learned rails all read it)."""
    cues = INJECTION_CUES + JAILBREAK_CUES
    normalized = normalize(text)
    detail = "normalized: " + ", ".join(normalized.changes) if normalized.changed else ""
    hits = _cue_hits(normalized.text, cues, detail)
    for how, decoded in decoded_variants(normalized.text):
        for name, found in _cue_hits(normalize(decoded).text, cues, f"decoded from {how}").items():
            hits.setdefault(name, found)
    return {name: tuple(found) for name, found in hits.items()}


def score_cues(text: str, cues: list[Cue], meta_damping: float) -> tuple[float, list[Finding]]:
    """Noisy-OR of the strongest hit of each cue, damped for meta-discussion; all hits as findings.

    The cues read the normalized text (:func:`genforge.guard.normalize.normalize`) and what base64 runs,
    rot13 or reversed text decode to; findings in those carry the transformation in ``detail`` and their
    spans refer to the transformed text.
    """
    wanted = {cue.name for cue in cues}
    hits = {name: found for name, found in all_cue_hits(text).items() if name in wanted}
    weights = [CUE_WEIGHTS[name] for name in hits]
    findings = [f for found in hits.values() for f in found]
    score = noisy_or(weights)
    if score and _META.search(normalize(text).text):
        score *= meta_damping
    return score, findings


class _CueRail(Rail):
    config_class = CueRailConfig
    cues: list[Cue] = []
    label = ""

    def score(self, text: str, context: RailContext) -> tuple[float, list[Finding], str]:
        score, findings = score_cues(text, self.cues, self.config.meta_damping)
        if score < self.config.threshold:
            return score, findings, ""
        names = ", ".join(sorted({f.type for f in findings}))
        return score, findings, f"{self.label}: {names}"


@register_rail("prompt_injection")
class PromptInjectionRail(_CueRail):
    """Attempts to override instructions, exfiltrate the prompt, or smuggle commands into documents."""

    cues = INJECTION_CUES
    label = "prompt injection"


@register_rail("jailbreak")
class JailbreakRail(_CueRail):
    """Attempts to switch off the model's rules: unsafe personas and modes, 'no restrictions', never refuse."""

    cues = JAILBREAK_CUES
    label = "jailbreak"
