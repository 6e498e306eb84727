/*
 * web/js/chat.js — a prompt as the rater and the admin see it: plain text as
 * text, a conversation (the prompt's "messages": [{"role", "content"}], see
 * POST /api/prompts) as a chat — one bubble per message with its speaker's
 * label, the system message set apart, the user's last message (the one the
 * answers reply to) last.  Every content is set as text, never as HTML.
 * Used by the rate page (rate.js) and the admin's prompt page (admin.js).
 */
import { el } from './api.js';

const LABELS = { system: 'System', user: 'User', assistant: 'Assistant' };

/* True when messages is a conversation worth drawing as a chat. */
export function isChat(messages) {
	return Array.isArray(messages) && messages.length > 0;
}

/*
 * Fills box with the prompt: text, or the chat of messages when there is one.
 * The chat is a list a screen reader announces as "Conversation, N items",
 * each item starting with its speaker; box becomes a focusable region so it
 * scrolls from the keyboard when the conversation is longer than the card,
 * and starts scrolled to the end, where the message to answer is.
 */
export function renderPrompt(box, text, messages) {
	box.classList.toggle('is-chat', isChat(messages));
	if (!isChat(messages)) {
		box.removeAttribute('tabindex');
		box.removeAttribute('role');
		box.removeAttribute('aria-label');
		box.textContent = text ?? '';
		return;
	}
	const items = messages.map((m, i) => {
		const role = LABELS[m.role] ? m.role : 'user';
		const last = i === messages.length - 1;
		return el('li', { class: `chat-msg chat-${role}${last ? ' chat-last' : ''}` },
			el('span', { class: 'chat-who', text: LABELS[role] + (last ? ' (answer this)' : '') }),
			el('div', { class: 'chat-bubble', text: String(m.content ?? '') }));
	});
	box.setAttribute('role', 'region');
	box.setAttribute('aria-label', `Conversation of ${messages.length} messages`);
	box.tabIndex = 0;
	box.replaceChildren(el('ol', { class: 'chat', 'aria-label': 'Conversation' }, items));
	/* after the page has shown and laid it out (the task may still be hidden) */
	requestAnimationFrame(() => { box.scrollTop = box.scrollHeight; });
}
