"""Small talk: the parts of a turn that carry no fact, and the brief replies to them.

The rule this module exists for: **nothing is written without a fact in it.** A turn is
cut into clauses; clauses that are greetings, thanks, acknowledgements, agreement, "never
mind", reactions, feelings or remarks about the answer are small talk. A turn made only of
such clauses is ``chitchat`` and is answered without touching memory; a turn that carries
something more ("thanks, but the capital is Canberra") keeps the rest for classification.

The lexicon is written for how people type in a chat box (lower case, no punctuation,
"thx", "nvm", "k", stretched letters "sooo", emoji) rather than for a particular data set;
its hit rate is measured on utterances it was not written from (benchmarks/conversation_bench.py).
"""

from __future__ import annotations

import re

# What a clause of small talk can be, by kind. Matched against one clause, lower case,
# with punctuation, emoji and stretched letters already folded (see `fold`).
_HELLO = (r"(?:hi+|hello+|hey+|heya|hiya|howdy|yo|greetings|good (?:morning|afternoon|evening|day)|morning|evening|hola|sup|"
          r"wassup|whats up|what's up|ciao|bonjour|salut|aloha|namaste|g'day|ahoy|hallo|servus|moin|"
          r"(?:i'm |im |i am )?back(?: again)?|me again|it's me again)")
_THANKS = (r"(?:thanks?|thank you|thank u|thankyou|thanx|thnx|thx|ty|tysm|tyvm|cheers|ta|much appreciated|much obliged|obliged|"
           r"ta very much|thanks a million|thanks a mil|thanks a heap|thank you (?:dear|love|hun|kindly)|thanks (?:love|hun|dear|pal)|"
           r"(?:thanks|thank you|thx|ty)(?: (?:kindly|so much|very much|a lot|again))? for .{1,50}|"
           r"(?:thanks|thank you) ever so much|thank you ever so|ever so grateful|many many thanks|"
           r"(?:i )?appreciate (?:it|that|this|the help|your help)|many thanks|(?:thanks|thank you) (?:a lot|so much|very much|a bunch|a ton|again|anyway|anyways|though|tho|mate|buddy|man)|"
           r"(?:thanks|thank you|thx|ty) for (?:the|your|that|this|all the)(?: \w+){0,3}|"
           # thanks in the languages users slip into: one clause, no fact in it
           r"merci(?: beaucoup| bien| mille fois)?|gracias|muchas gracias|danke(?: schön| schoen| sehr)?|vielen dank|grazie(?: mille)?|"
           r"obrigad[oa]|arigato|dziękuję|dziekuje|dank je(?: wel)?|tack|takk|tak|kiitos|spasibo|shukran|asante|xie xie|gamsahamnida)")
_ACK = (r"(?:ok+|okay+|okey|okie|oki|k+|kk+|alright|all right|aight|fine|got it|gotcha|i see|see|understood|understand|"
        r"i understand|makes sense|that makes sense|noted|sure|sure thing|cool|coolio|nice|great|awesome|perfect|good|very good|"
        r"excellent|wonderful|brilliant|neat|sweet|fair enough|fair|good to know|nice to know|interesting|how interesting|"
        r"splendid|lovely|marvellous|marvelous|super|fab|fabulous|fantastic|wicked|ace|cracking|grand|magic|sound|"
        r"fascinating|genius|wow genius|real smart|very smart|so smart|smart|clever|nice one genius|ha|hah|gg|ez|gg ez|ggs|gg wp|wp|bet|ok bet|k ty|ok ty|cool ty|thanks ty|bless her|bless him|bless them|"
        r"bless|bruh|based|noice|sick|dope|lit|poggers|pog|rad|mint|champion|top|spot on|right you are|"
        r"i know|i knew it|i knew that|ah+|oh+|ooh+|hm+|huh|wow+|whoa|woah|lol+|lmao|rofl|ha(?:ha)+|he(?:he)+|omg|yay|"
        r"shocking|typical|unbelievable|pathetic|ridiculous|figures|classic|come on|"
        r"goodness|my goodness|goodness me|oh my goodness|gosh|oh gosh|golly|blimey|crikey|heavens|good heavens|good grief|"
        r"oh my|oh my god|oh dear|dear me|my word|jeez|geez|yikes|whoa there|well well|fancy that|cor|strewth|"
        r"no way|really|seriously|for real|i guess|i suppose|maybe|perhaps|hmm ok|ah ok|oh ok|oh i see|ah i see|"
        r"ok cool|ok thanks|ok got it|cool cool|nice one|good one|good job|well done|great job|bravo|amazing|"
        r"that's it|that is it|that's all|that is all|nothing|nothing else|not much|same|me too|same here|likewise|"
        r"go on|continue|carry on|tell me more|and|so|well|um+|uh+|er+|hmm+)")
_AGREE = (r"(?:yes+|yeah+|yea|yep|yup|ya|yas|yess|aye|affirmative|exactly|exactly right|precisely|right|that's right|"
          r"that is right|thats right|correct|that's correct|that is correct|true|that's true|very true|indeed|"
          r"absolutely|definitely|of course|certainly|you're right|you are right|agreed|i agree|spot on|bingo|"
          r"yes it is|yes that's right|yes exactly|rigth|rite|riht|corect|exactley|exacly|exactly rigth|yes exactly rigth|"
          r"quite right|quite so|just so|that's it exactly|spot on thanks|exactly right|yes right|yes correct|is correct|is right|is true|it is correct|it is right|is good|all correct|"
          r"yes indeed|yes please|sounds good|sounds right|"
          r"looks good|looks right|that's the one|right on|you got it|you're correct|you are correct|100%|"
          r"good answer|nice answer|great answer|correct answer|right answer|yes that's it|that's what i thought|"
          r"do it|go ahead|please do|sure do|do that|confirm|confirmed|i confirm|store it|save it|yes store it|"
          r"yes save it|yes please do|replace it|yes replace it|that's right replace it|go for it|yes go ahead)")
_NEVERMIND = (r"(?:never ?mind|nvm|nm|forget about it|no worries|no problem|np|all good|it's fine|its fine|it's ok|"
              r"it's okay|doesn't matter|does not matter|no matter|whatever|no thanks|no thank you|no need|"
              r"not now|not really|not sure|i'm not sure|i am not sure|i don't know|i dunno|dunno|idk|no idea|"
              r"not bad|not too bad|no big deal|skip it|skip that|let it go|drop it|leave it|that's ok|that's okay|"
              r"that's fine|that is fine|i was just asking|just asking|just curious|just wondering|just checking|"
              r"i was kidding|just kidding|jk|kidding|joking|only joking|just joking|my bad|sorry|oops|whoops|"
              r"nothing important|no reason|no comment|pass|moving on|anyway|anyways|anyhow|ok then|oh well|"
              r"i didn't know that|didn't know that|i did not know that|i had no idea|had no idea|never knew that|"
              r"i knew that|i thought so|that's what i thought|thats what i thought|i figured|as i thought|"
              r"i was wondering|just wondering|no more questions|that's all for now|that is all for now|not important|"
              r"it's not important|not that important|doesn't matter much|forget i asked|forget i said anything|"
              r"never mind that|nevermind that|ignore that|ignore me|scratch that question|keep it|leave it|leave it as is|"
              r"keep that|that will be all|that'll be all|that is all|that's all i needed|nothing more|all done|done for now|"
              r"thought so|i thought so|figured|i figured as much|as expected)")
_BYE = (r"(?:bye+|goodbye|good bye|bye bye|see you|see ya|see you later|cya|later|laters|good night|goodnight|gn|"
        r"cheerio|ta-ra|tata|ta ta|adios|adiós|au revoir|à bientôt|a bientot|à plus|arrivederci|tschüss|tschuss|auf wiedersehen|"
        r"hasta luego|hasta pronto|hasta la vista|tchau|sayonara|ciao for now|farewell|until next time|catch you later|"
        r"god bless|bless you|and god bless|sleep well|sweet dreams|night night|nighty night|night|nite|goodbye for now|"
        r"bye for now|bye now|that's me off|i'm off now|off to bed|time for bed|"
        r"hooroo|righto|right-o|peace|peace out|catch ya|catch you|later mate|k cya|ok cya|ok bye|k bye|"
        r"(?:i )?bid you (?:a )?(?:very )?good (?:day|night|evening|afternoon)|(?:a )?(?:very )?good day to you|"
        r"take care|(?:have|enjoy) (?:a |the |your )?(?:very )?(?:nice|good|great|lovely|wonderful|fine|pleasant) (?:day|night|evening|weekend|one|afternoon|morning)|talk (?:to you )?later|ttyl|gotta go|i have to go|i'm off|i'm done|im done)")
_FEELING = (r"(?:i'm|i am|im|i feel|feeling|i'm feeling|i am feeling) (?:so |very |really |a bit |kinda |kind of |pretty |quite |super |just |a little |not )*"
            r"(?:bored|tired|sleepy|happy|sad|glad|confused|lost|sorry|excited|hungry|busy|fine|good|great|ok|okay|alright|"
            r"curious|impressed|amazed|surprised|shocked|kidding|joking|back|here|sure|unsure|done|annoyed|frustrated|"
            r"upset|stressed|worried|relieved|grateful|thankful|pleased|satisfied|disappointed|lonely|bored now|"
            r"well|better|ready|serious|not sure|just testing|testing you|testing|exhausted|knackered|shattered|cold|hot|"
            r"nervous|anxious|scared|afraid|thrilled|overjoyed|ecstatic|devastated|heartbroken|miserable|cranky|grumpy|"
            r"having (?:a|an) (?:\w+ )?(?:day|week|morning|time|night)|so excited|so happy|so tired|so bored)"
            r"(?: (?:today|tonight|right now|rn|lately|honestly|haha|lol|tbh))*")
# remarks about the answer or the assistant, good or bad, with no value in them
_REMARK = (r"(?:that's|that is|thats|this is|that was|it's|it is|its|is|was|you're|you are|youre|ur|u r|what a|such a|so|"
           r"(?:that|your|the|this) answer (?:was|is)|that reply (?:was|is)|you've been|you have been)"
           r"(?: not| so| very| really| pretty| quite| super| too| a bit| kinda| totally| actually| just| an?| most| extremely|"
           r" incredibly| awfully| terribly| ever so| truly| rather| most kind| immensely| hugely)*"
           r" (?:helpful|unhelpful|useful|useless|great|amazing|awesome|cool|funny|hilarious|smart|clever|brilliant|"
           r"weird|strange|odd|bad|terrible|awful|annoying|interesting|boring|stupid|dumb|silly|nice|good|kind|sweet|"
           r"impressive|confusing|fascinating|cute|lovely|wonderful|perfect|fine|okay|ok|fast|slow|quick|"
           r"a gem|a star|a lifesaver|a life saver|a sweetheart|a darling|an angel|a legend|a champ|a hero|a genius|"
           r"splendid|excellent|fantastic|superb|smashing|grand|champion|ace|spot on|much appreciated|"
           r"so kind|very kind|too kind|very helpful|brilliant|marvellous|marvelous|useless|pointless|rubbish|garbage|"
           r"the best|the worst|a good answer|a bad answer|a great answer|good answer|bad answer|"
           r"a bot|a robot|an ai|a machine|so smart|genius|crazy|wild|insane|fun|sad|surprising|unexpected|"
           r"news to me|new to me|good to know|nice to hear|what i (?:thought|expected|needed|wanted)|enough|"
           r"(?:very |super |really )?helpful(?:,? thanks?)?|not what i asked|not what i meant|not helpful|"
           r"the answer i (?:wanted|was looking for|needed)|right|correct|true|it|good at this|good at that|good at it)"
           r"(?: at (?:this|that|it))?(?:,? (?:thanks|thank you|thx))?")
_META = (r"(?:let's|lets|let us|can we|could we|shall we) (?:talk about|change|switch|move on|discuss|chat about|try|start|test|see|check)(?: [^:;]*)?|"
         r"(?:you|u) (?:don't|do not|didn't|did not) (?:even )?know(?: (?:that|this|it))?|(?:you|u) should know (?:that|this)|"
         r"that (?:long ago|old|recent|recently|many|much|far|early|late|young|big|small|expensive|cheap|long|soon|quickly)|"
         r"(?:so|okay so|ok so|well) here i am|here i am|here we are|here we go|"
         r"(?:i have|i've got|got|one more|another|quick|a quick|i had) (?:a )?(?:question|thing)(?: for you)?|"
         r"(?:can|may|could) i ask (?:you )?(?:a question|something)|let me ask (?:you )?(?:something|a question)|"
         r"(?:i'm|i am|im) (?:just )?testing(?: you| this| something)?|test(?:ing)?(?: \d+)*|are you there|you there|"
         r"hello\?|anyone there|wake up|hurry up|take your time|go ahead|try again|one moment|hold on|wait|"
         r"good bot|bad bot|nice bot|silly bot|stupid bot|love you|i love you|i like you|i hate you|you rock|you're the best|"
         r"what(?:'s| is) new|how(?:'s| is) it going|how are (?:you|u|things)(?: doing| today)?|how r u|how do you do|"
         r"hope you're well|hope you are well|i hope you're well|i hope you are well|i hope (?:i am|i'm) not (?:disturbing|bothering) you|"
         r"hope (?:i am|i'm) not (?:disturbing|bothering) you|sorry to bother you|sorry for the trouble|"
         r"i trust you(?:'re| are) (?:well|keeping well)|hope you(?:'re| are) keeping well|i hope this finds you well|"
         r"nice to meet you|pleased to meet you|good to see you|welcome back|are you still there|you still there|"
         r"anyway|anyways|thank you for listening(?: to me)?(?: ramble)?|thanks for listening(?: to me)?(?: ramble)?|"
         r"ugh mondays|happy (?:monday|friday|new year|holidays|birthday to me)|tgif|i knew it(?: was .{1,30})?|"
         r"i told them so|i told you so|i knew that|called it|knew it|everyone knows that|everybody knows that|"
         r"how (?:lovely|nice|cool|wonderful|sweet|kind|interesting|funny|sad|awful|great|fun|exciting|cute|odd|weird|strange)|"
         r"(?:i )?(?:can't|cannot|can not) believe .{0,40}|rip(?: .{0,30})?|oh well|such is life|that's life|c'est la vie|"
         r"(?:sounds|seems|looks) (?:about )?(?:right|correct|good|fine|great|plausible)|"
         r"everyone knows|obviously|duh|come on|you should know that|look it up|trust me|believe me|for sure|no doubt")
_DISAGREE = (r"(?:no+|nope|nah|nay|not quite|not true|not really true|wrong|that's wrong|that is wrong|thats wrong|"
             r"incorrect|that's incorrect|that's not right|that is not right|that's not true|that's not correct|"
             r"not correct|not right|you're wrong|you are wrong|youre wrong|ur wrong|you're mistaken|wrong answer|"
             r"that's false|false|no way that's right|are you sure|really\?|what\?|what|huh\?|hmm no|no no+|"
             r"that's outdated|that is outdated|outdated|not anymore|not any more|that's old news|no that's wrong|"
             r"no that's not right|nope that's wrong|wrong again|still wrong|"
             # hedged and self-corrections: they say a value is coming, they are not the value
             r"i'm afraid (?:that(?:'s| is) )?(?:not (?:quite )?(?:correct|right|true)|wrong|incorrect)|i'm afraid not|"
             r"i (?:believe|think) (?:that(?:'s| is) |you're |you are )?(?:not (?:quite )?(?:right|correct)|wrong|incorrect|mistaken|"
             r"out of date|outdated|old)|"
             r"(?:that's|that is|this is|it's|its|this was|that was) (?:an? )?(?:old|outdated|out of date|old news|not up to date|not current|"
             r"not quite right|not quite correct|no longer (?:true|right|correct))(?: number| info| information| data| answer)?|"
             r"(?:ur|your|the) (?:info|information|data|answer|knowledge)(?: is| was| seems)? (?:outdated|out of date|old|wrong|incorrect|stale)|"
             r"out of date|not up to date|not quite|not quite right|no longer true|that changed|things changed|that's changed|"
             r"i misspoke|i was wrong(?: before| earlier| there| about that)?|i was mistaken(?: before| earlier)?|my mistake|i made a mistake|sorry i meant|i meant to say|let me correct (?:that|myself)|"
             r"i mixed (?:them |those |it )?up(?: .{0,30})?|i mixed up .{0,30}|i keep forgetting|i got (?:that|it) wrong|"
             r"you said .{0,40}|you told me .{0,60}|you got (?:that|it) wrong|not what i said|that's not what i said)")

KINDS: tuple[tuple[str, str], ...] = (
    ("greeting", _HELLO), ("thanks", _THANKS), ("agreement", _AGREE), ("acknowledgement", _ACK),
    ("never mind", _NEVERMIND), ("goodbye", _BYE), ("feeling", _FEELING), ("remark", _REMARK), ("meta", _META),
)
_ADDRESS = (r"(?:\s+(?:there|everyone|all|bot|buddy|friend|my friend|my dear|dear|love|hun|rn|mate|y'all|yall|folks|guys|"
            r"you all|team|fam|bud|man|dude|pal|assistant|again|then|too|as well|now|so much|"
            r"today|tonight|right now|lol|lmao|haha|hehe|tbh|honestly|ngl|though|tho|anyway|anyways|i guess|for sure|"
            r"for real|man|bro|sis|ok|okay|then|haha+|lol+|xd|please|pls|mate|a lot|so much|very much|really|indeed))*")
_COMPILED = tuple((kind, re.compile(r"^(?:" + pattern + r")" + _ADDRESS + r"$")) for kind, pattern in KINDS)
_DISAGREE_RE = re.compile(r"^(?:" + _DISAGREE + r")" + _ADDRESS + r"$")

# questions about the assistant itself: answered briefly, never a lookup
_ABOUT_ASSISTANT = re.compile(
    r"^(?:(?:and |so |but )?(?:how are (?:you|u|things)|how r u|how(?:'s| is) (?:it going|life|your day)|what(?:'s| is) up|"
    r"who (?:are|r) (?:you|u)|what (?:are|r) (?:you|u)|what(?:'s| is) your name|do you have a name|what should i call you|"
    r"who (?:made|built|created|trained|programmed|designed|wrote|owns|develops|developed) (?:you|u)|"
    r"are (?:you|u) (?:a |an )?(?:bot|robot|ai|human|real|person|machine|alive|sentient|conscious|smart|there|ok|okay|"
    r"listening|awake|free|busy|chatgpt|gpt|an llm|a language model|a computer|single|happy|sure|kidding|serious|crazy|stupid|dumb)|"
    r"can (?:you|u) (?:hear|see|understand) me|do (?:you|u) (?:like|love|enjoy|dream|sleep|eat|have feelings|feel|think|remember me|know me)"
    r"(?: \w+){0,2}|what can (?:you|u) do|what do (?:you|u) do|how old are (?:you|u)|where are (?:you|u) from|"
    r"what model are (?:you|u)|which model are (?:you|u)|what(?:'s| is) your (?:favou?rite \w+|purpose|job)|"
    r"are we (?:done|good|ok)|did (?:you|u) (?:get|receive|recieve|see|read|hear) (?:that|it|this|me|my (?:last )?(?:message|question|text))|you (?:get|got) (?:that|it)|really|seriously|are you sure|"
    r"is that (?:so|right|true|correct|it|all)|right|you sure|why not|how come|what do you mean|what|huh|sorry|pardon|come again)"
    r")[\s?!.]*$"
    r"|^(?:how are (?:you|u)|how r (?:you|u)|how(?:'s| is) it going|how have you been|how do you feel|how(?:'s| is) your (?:day|week|morning|evening)|"
    r"what are you|who are you|you alright|are you alright|you ok|you okay|"
    r"are (?:you|u) (?:a |an |really |actually |even )?(?:bot|robot|ai|human|real|person|machine|alive|sentient|conscious|chatgpt|"
    r"gpt|program|computer|language model|llm)|do (?:you|u) (?:ever )?(?:sleep|dream|eat|have (?:feelings|emotions|friends|a name)|"
    r"get (?:tired|bored|lonely)|like (?:me|your job|talking)|enjoy (?:this|talking))|"
    r"who (?:made|built|created|trained|programmed|designed) (?:you|u)|what(?:'s| is) your (?:name|favou?rite))\b(?:[ ,]+[\w']+){0,6}[\s?!.]*$"
)

_EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\uFE0F\u200D]+")
_EMOTICON = re.compile(r"(?:^|\s)(?:[:;=8][-']?[()dpo3/\\|*\]\[]+|<3+|xd+|\^\^|\^_\^|o_o|-_-)(?=\s|$)", re.I)


def fold(text: str) -> str:
    """Lower case; emoji and emoticons dropped; letters stretched past two folded ("sooo" ->
    "soo", "thanksss" -> "thankss") so the patterns' `+` can take the rest."""
    text = _EMOJI.sub(" ", text.lower().replace("\u2019", "'"))
    text = _EMOTICON.sub(" ", text)
    text = re.sub(r"([a-z])\1{2,}", r"\1\1", text)
    return re.sub(r"\s+", " ", text).strip()


_CONTRACTIONS = {"didnt": "didn't", "dont": "don't", "thats": "that's", "im": "i'm", "its": "it's", "youre": "you're",
                 "whats": "what's", "isnt": "isn't", "doesnt": "doesn't", "ive": "i've", "u": "you", "ur": "your",
                 "cant": "can't", "wasnt": "wasn't", "hows": "how's", "lets": "let's"}


def _clause_forms(clause: str) -> list[str]:
    clause = fold(clause).strip(" ,.;:!?-\"'()")
    clause = " ".join(_CONTRACTIONS.get(w, w) for w in clause.split())
    forms = [clause]
    unstretched = re.sub(r"([a-z])\1+", r"\1", clause)
    if unstretched != clause:
        forms.append(unstretched)
    return forms


def clause_kind(clause: str) -> str | None:
    """The kind of small talk one clause is, or None when it may carry content."""
    for form in _clause_forms(clause):
        if not form:
            return "empty"
        for kind, pattern in _COMPILED:
            if pattern.match(form):
                return kind
    return None


def is_disagreement(clause: str) -> bool:
    """"no", "that's wrong", "you're mistaken": says the agent was wrong, names no value."""
    return any(_DISAGREE_RE.match(form) for form in _clause_forms(clause) if form)


_SPLIT = re.compile(r"\s*(?:[,;!.?]+|\s-\s|\s+but\s+|\s+and\s+(?=(?:thanks|thank|thx|ty|bye|cheers|have)\b))\s*")


def clauses(text: str) -> list[str]:
    return [c for c in _SPLIT.split(fold(text)) if c and c.strip(" -")]


_INTERJECTION = re.compile(
    r"^(?:oh+|ah+|aw+|hm+|ok+|okay|yes+|yeah+|yep|yup|lol+|wow+|haha+|hehe+|um+|uh+|hey+|hi+|hello|alright|aha|ooh+|whoa|bruh|"
    r"dude|yo|welp|ahh+|phew|huh|"
    r"thanks|thank you|thx|ty|nvm|never ?mind|ugh|meh|omg|quick q|quick question|kk+|exactly|yess+|lmao|"
    # words that also start names ("Right now", "True Detective", "Nice is in France") only before a filler
    r"(?:cool|nice|great|awesome|perfect|right|true|sure|correct|k|well|so|wait|and|also)(?=\s+(?:i|i'm|im|that|thats|that's|"
    r"thanks|thx|ok|okay|so|then|man|lol|haha|yeah|yes|got|good|cool|you|forget|delete|please|one|quick|also|what|tell)\b))"
    r"\b[\s,!.]*")


def _peel(clause: str) -> tuple[list[str], str]:
    """Leading interjections of a clause, peeled one by one while something follows."""
    kinds = []
    while True:
        match = _INTERJECTION.match(clause)
        if not match or match.end() >= len(clause):
            return kinds, clause
        kinds.append(clause_kind(match.group(0)) or "acknowledgement")
        clause = clause[match.end():].strip()


def split_small_talk(text: str) -> tuple[list[str], str]:
    """(kinds of the leading/trailing small-talk clauses, the rest of the turn in its own
    words). The rest is "" when the whole turn is small talk. Disagreement clauses are not
    removed here: "no, it's Rome" is a correction, decided by the caller."""
    parts = clauses(text)
    kinds: list[str] = []
    while parts:
        kind = clause_kind(parts[0])
        if kind:
            kinds.append(kind)
            parts.pop(0)
            continue
        peeled, rest = _peel(parts[0])
        if not peeled:
            break
        kinds += peeled
        parts[0] = rest
    while parts and (kind := clause_kind(parts[-1])):
        kinds.append(kind)
        parts.pop()
    if not parts:
        return kinds, ""
    # the rest, cut from the original text so its case survives
    original = text.strip()
    folded_first, folded_last = parts[0], parts[-1]
    start = _find_folded(original, folded_first)
    end = _find_folded(original, folded_last, last=True)
    if start < 0 or end < 0:
        return kinds, " ".join(parts)
    if original[end:].lstrip().startswith("?"):
        end = original.index("?", end) + 1  # the question mark stays: it makes the rest a question
    return kinds, original[start:end].strip(" ,;")


def _find_folded(original: str, folded: str, last: bool = False) -> int:
    """Where `folded` (a clause of fold(original)) starts (or, with `last`, ends) in `original`."""
    words = folded.split()
    if not words:
        return -1
    pattern = r"(?<!\w)" + r"\W+".join(re.escape(w) for w in words) + r"(?!\w)"
    matches = list(re.finditer(pattern, original, flags=re.I))
    if not matches:
        return -1
    return matches[-1].end() if last else matches[0].start()


def is_small_talk(text: str) -> str | None:
    """The first small-talk kind when the whole turn is small talk (or only disagreement
    with no value: "no, you're wrong"), else None."""
    parts = clauses(text)
    if not parts:
        return "empty"
    kinds = []
    for part in parts:
        if not clause_kind(part):
            peeled, part = _peel(part)
            kinds += peeled
        kind = clause_kind(part) or ("disagreement" if is_disagreement(part) else None)
        if kind is None:
            return None
        kinds.append(kind)
    # the kind that says most about what to answer: "Champion, thanks." is thanks, "ok bye bye" a goodbye
    for kind in REPLY_PRIORITY:
        if kind in kinds:
            return kind
    return kinds[0] if kinds[0] != "empty" else (kinds[1:] or ["empty"])[0]


REPLY_PRIORITY = ("goodbye", "thanks", "never mind", "greeting")


def about_assistant(text: str) -> bool:
    """'how are you?', 'who made you', 'are you a bot': questions about the assistant itself."""
    return any(_ABOUT_ASSISTANT.match(form) for form in _clause_forms(fold(text)) if form)


REPLIES = {
    "greeting": "Hello! Ask me anything, or correct me when I get something wrong.",
    "thanks": "You're welcome!",
    "agreement": "Good, we agree. I've left your memory as it is.",
    "acknowledgement": "Okay.",
    "never mind": "No problem; nothing was changed.",
    "goodbye": "Goodbye! What you told me stays in your memory.",
    "feeling": "Thanks for telling me. Ask me anything, or correct me when I'm wrong.",
    "remark": "Thanks for the feedback. If something I said is wrong, tell me the right answer (e.g. 'no, it's Rome').",
    "meta": "Sure, go ahead.",
    "disagreement": "What is the right answer? Tell me, e.g. 'no, it's Rome', and I'll remember it.",
    "assistant": ("I'm editmind's assistant, a small language model running on this machine. Ask me questions, "
                  "tell me about yourself, or correct me; /help lists the commands."),
    "empty": "Say something, or type /help for the commands.",
    "guarded": "Okay. I haven't stored anything; to correct me, say it like 'no, it's Rome' or 'my dog is called Rex'.",
}


def reply_for(kind: str) -> str:
    return REPLIES.get(kind, REPLIES["acknowledgement"])
