"""The conversation folded into the one user message of the 2026 dialect."""
from ztoapi.zai.transcript import fold

IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}


def test_a_lone_user_message_is_sent_as_it_is():
    assert fold([{"role": "user", "content": "Hello, 世界"}]) == ("Hello, 世界", 0)


def test_a_lone_user_message_keeps_its_text_parts_and_sends_its_images():
    text, images_of = fold([{"role": "user", "content": [{"type": "text", "text": "What is"}, IMAGE,
                                                         {"type": "text", "text": "this?"}]}])
    assert (text, images_of) == ("What is\nthis?", 0)


def test_a_conversation_becomes_a_transcript_in_glm_markup():
    messages = [{"role": "system", "content": "Be brief."},
                {"role": "user", "content": "2+2?"},
                {"role": "assistant", "content": "4"},
                {"role": "developer", "content": "Answer in words."},
                {"role": "user", "content": "3+3?"}]
    assert fold(messages) == ("<|system|>\nBe brief.\n<|user|>\n2+2?\n<|assistant|>\n4\n"
                              "<|system|>\nAnswer in words.\n<|user|>\n3+3?", 4)


def test_a_system_prompt_with_one_question_is_folded_too():
    text, _ = fold([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])
    assert text == "<|system|>\nBe brief.\n<|user|>\nHi"


def test_images_of_earlier_turns_become_placeholders_and_the_last_turn_keeps_its_own():
    messages = [{"role": "user", "content": [{"type": "text", "text": "First"}, IMAGE]},
                {"role": "assistant", "content": "A cat."},
                {"role": "user", "content": [{"type": "text", "text": "And this?"}, IMAGE]}]
    assert fold(messages) == ("<|user|>\nFirst\n[image]\n<|assistant|>\nA cat.\n<|user|>\nAnd this?", 2)


def test_a_conversation_ending_with_the_assistant_sends_no_images():
    text, images_of = fold([{"role": "user", "content": [{"type": "text", "text": "Q"}, IMAGE]},
                            {"role": "assistant", "content": "Sure, "}])
    assert (text, images_of) == ("<|user|>\nQ\n<|assistant|>\nSure, ", 0)
