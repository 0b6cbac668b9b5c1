"use strict";
// Kopichat debate page. No framework and no build step: this file is inlined into the page.
(function () {
  const STORAGE_KEY = "kopichat.conversation_id";
  const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;
  const MAX_CHARS = Number(meta("kopichat-max-message-chars"));
  // The server says "off" where it cannot stream (AWS Lambda buffers whole responses).
  let streamState = meta("kopichat-stream") === "on" ? "untried" : "off";

  // The page is served at the root of the API, whatever prefix (an API Gateway stage) is in
  // front of it, so API paths are resolved against the page's own path.
  const basePath = location.pathname.endsWith("/") ? location.pathname : location.pathname + "/";
  const apiUrl = (path) => basePath + path;

  // ---------------------------------------------------------------------------------------------
  // Server-sent events over fetch (EventSource can only GET). Calls onEvent({event, data, id}) for
  // every complete event of the body, as the WHATWG "event stream interpretation" says: lines end
  // with CRLF, LF or CR; "data" lines join with "\n"; `id` is the last event id seen so far;
  // comments and "retry" are ignored; an event without data, or one cut off before its blank
  // line, is not dispatched.
  async function readServerSentEvents(response, onEvent) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder(); // stream mode keeps a UTF-8 sequence split across chunks
    let buffer = "";
    let type = "";
    let data = [];
    let lastId = "";

    function takeLine(line) {
      if (line === "") {
        if (data.length > 0) onEvent({ event: type || "message", data: data.join("\n"), id: lastId });
        type = "";
        data = [];
        return;
      }
      if (line.startsWith(":")) return; // a comment, e.g. a keep-alive
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") type = value;
      else if (field === "data") data.push(value);
      else if (field === "id" && !value.includes("\0")) lastId = value;
    }

    function takeLines(final) {
      for (;;) {
        const end = /\r\n|\r|\n/.exec(buffer);
        if (end === null) return;
        // A CR at the very end of what has arrived may be the first half of a CRLF.
        if (end[0] === "\r" && end.index === buffer.length - 1 && !final) return;
        takeLine(buffer.slice(0, end.index));
        buffer = buffer.slice(end.index + end[0].length);
      }
    }

    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        takeLines(false);
      }
      buffer += decoder.decode();
      takeLines(true);
    } catch (error) {
      reader.cancel().catch(() => {});
      throw error;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Errors: the server's problem+json bodies carry a stable `code`; each gets plain words.
  class ProblemError extends Error {
    constructor(problem) {
      super(problem.detail || problem.title || `HTTP ${problem.status}`);
      this.problem = problem;
    }
  }
  class CutOff extends Error {}
  // The answer stayed lost after every resend: the turn may or may not be stored.
  class AnswerUnknown extends Error {
    constructor(cause) {
      super("the answer to this message could not be fetched");
      this.cause = cause;
    }
  }

  const RETRY_SAFE = "Nothing of this turn was saved, so you can send the same message again.";

  function codePoints(text) {
    return Array.from(text).length;
  }

  // { text, startOver } for a problem body; `message` is what the person tried to send.
  function explainProblem(problem, message) {
    const code = problem.code || "";
    const status = problem.status || 0;
    const errorTypes = (problem.errors || []).map((e) => e.type);
    switch (code) {
      case "conversation_not_found":
        return {
          text:
            "This debate is no longer on the server (it may have been deleted, or the server's " +
            "database was reset). Start a new debate to go on arguing.",
          startOver: true,
        };
      case "turn_in_progress":
        return {
          text:
            "The bot is still answering an earlier message of this debate, perhaps in another " +
            "tab. Wait a few seconds, then send your message again.",
          startOver: false,
        };
      case "nothing_to_regenerate":
        return {
          text: "The bot has no answer here to replace yet. Send your message first.",
          startOver: false,
        };
      case "turn_cancelled":
        return {
          text:
            "The bot's answer was stopped before it was finished, so nothing of it was saved. " +
            "Send your message again to get an answer.",
          startOver: false,
        };
      case "turn_cap_reached":
        return {
          text:
            "This debate has reached its length limit, so the bot takes no more turns in it. " +
            "Start a new debate to keep arguing.",
          startOver: true,
        };
      case "validation_error":
        if (errorTypes.includes("string_too_long")) {
          const length = message === undefined ? "more" : String(codePoints(message));
          return {
            text:
              `Your message is too long: the limit is ${MAX_CHARS} characters and yours has ` +
              `${length}. Shorten it, then send it again.`,
            startOver: false,
          };
        }
        if (errorTypes.includes("string_too_short") || errorTypes.includes("value_error")) {
          return { text: "Your message is empty. Write your argument, then send it.", startOver: false };
        }
        return {
          text: "The server could not accept this request. Reload the page and try again.",
          startOver: false,
        };
      case "body_too_large":
        return { text: "Your message is too large to send. Shorten it and try again.", startOver: false };
      case "model_unavailable":
        return {
          text: `The bot's language model is not available right now. ${RETRY_SAFE} Try again in a moment.`,
          startOver: false,
        };
      case "deadline_exceeded":
        return {
          text: `The bot took too long to answer. ${RETRY_SAFE}`,
          startOver: false,
        };
      default:
        break;
    }
    if (status === 401) {
      return { text: "This server asks for an API key, which this page cannot send.", startOver: false };
    }
    if (status === 429) {
      return { text: "Too many messages in a short time. Wait a moment, then send again.", startOver: false };
    }
    if (status === 503) {
      return { text: `The server cannot answer right now. ${RETRY_SAFE} Try again in a moment.`, startOver: false };
    }
    if (status === 504) {
      return { text: `The server took too long to answer. ${RETRY_SAFE}`, startOver: false };
    }
    if (status >= 500) {
      return { text: "Something went wrong on the server. Try again later.", startOver: false };
    }
    return { text: `The server refused this request: ${problem.detail || problem.title || status}`, startOver: false };
  }

  async function problemOf(response) {
    try {
      const body = await response.json();
      if (body && typeof body === "object" && typeof body.status === "number") return body;
    } catch (_) {
      // not JSON: described by its status below
    }
    return { status: response.status, title: response.statusText, detail: "", code: "" };
  }

  // ---------------------------------------------------------------------------------------------
  // One turn: the stream when the server has it, else POST /api/chat. Resolves to the /api/chat
  // response body; onToken(text) sees the reply grow while it streams, and onToken(null) means
  // the text so far is void (the server restarted the model's answer). `key` is the message's
  // Idempotency-Key: the server stores a turn once per key and gives its answer to every resend.
  // `progress.lastEventId` is kept up to date with the stream's event ids, for resumeTurn.
  async function takeTurn(conversationId, message, key, onToken, signal, progress) {
    const request = {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": key },
      body: JSON.stringify({ conversation_id: conversationId, message }),
      signal,
    };
    if (streamState !== "off") {
      const response = await fetch(apiUrl("api/chat/stream"), {
        ...request,
        headers: { ...request.headers, accept: "text/event-stream" },
      });
      const type = response.headers.get("content-type") || "";
      if (response.ok && type.startsWith("text/event-stream")) {
        streamState = "on";
        return readTurnEvents(response, onToken, progress);
      }
      if (response.ok) return response.json(); // a proxy that answered with plain JSON
      const problem = await problemOf(response);
      const noSuchRoute = ["not_found", "method_not_allowed", ""].includes(problem.code);
      if (!((response.status === 404 || response.status === 405) && noSuchRoute)) {
        throw new ProblemError(problem);
      }
      streamState = "off"; // this server has no stream endpoint: use /api/chat from now on
    }
    const response = await fetch(apiUrl("api/chat"), request);
    if (!response.ok) throw new ProblemError(await problemOf(response));
    return response.json();
  }

  async function readTurnEvents(response, onToken, progress) {
    let result = null;
    let problem = null;
    await readServerSentEvents(response, ({ event, data, id }) => {
      if (id) progress.lastEventId = id;
      if (event === "token") onToken(JSON.parse(data).text);
      else if (event === "restart") onToken(null); // an abandoned attempt: its text is void
      else if (event === "done") result = JSON.parse(data);
      else if (event === "error") problem = JSON.parse(data);
      else if (event === "cancelled") problem = { status: 409, code: "turn_cancelled", detail: "" };
    });
    if (problem !== null) throw new ProblemError(problem);
    if (result === null) throw new CutOff("the stream ended before its final event");
    return result;
  }

  // A stream of a conversation that exists cut off mid-reply: get the events after the last one
  // received from GET /api/conversations/{id}/stream, so the reply goes on where it stopped.
  // Resolves to the /api/chat body, or to null when the server has nothing to resume (then the
  // message is sent again, below).
  async function resumeTurn(conversationId, progress, onToken, signal) {
    const path = `api/conversations/${encodeURIComponent(conversationId)}/stream`;
    const response = await fetch(apiUrl(path), {
      headers: { accept: "text/event-stream", "last-event-id": progress.lastEventId },
      signal,
    });
    const type = response.headers.get("content-type") || "";
    if (response.ok && type.startsWith("text/event-stream")) {
      return readTurnEvents(response, onToken, progress);
    }
    if (!response.ok) {
      const problem = await problemOf(response);
      if (problem.code === "conversation_not_found") throw new ProblemError(problem);
    }
    return null; // 204 (nothing to resume), or a server without this endpoint
  }

  // When an answer is lost (the stream cut off, or the connection failed), the turn may still be
  // running on the server, or be stored already. So the page sends the same message again, with
  // the same key, after a pause that grows: the server answers with the stored turn once it is
  // finished (409 idempotency_key_in_use while it still runs, with Retry-After), and runs it
  // again only if it failed, so it is never stored twice. About a minute in all: a turn ends
  // within its deadline (25 s by default), so an answer still missing then is not coming.
  const RESEND_DELAYS_MS = [500, 1000, 2000, 4000, 8000, 8000, 8000, 8000, 8000, 8000];

  function resendDelay(error, attempt) {
    const backoff = RESEND_DELAYS_MS[Math.min(attempt, RESEND_DELAYS_MS.length - 1)];
    if (error instanceof CutOff || error instanceof TypeError) return backoff; // TypeError: network
    if (error instanceof ProblemError && error.problem.code === "idempotency_key_in_use") {
      return Math.max(backoff, 1000 * (Number(error.problem.retry_after) || 0));
    }
    return null; // an answer: the server said what happened
  }

  function pause(ms, signal) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(new DOMException("aborted", "AbortError"));
      }, { once: true });
    });
  }

  // takeTurn, resumed where its stream stopped or sent again with the same key, until the
  // server gives an answer; `onResend(n, resuming)` is told before the n-th try.
  async function takeTurnUntilAnswered(conversationId, message, key, onToken, onResend, signal) {
    const progress = { lastEventId: null };
    const canResume = () => conversationId !== null && progress.lastEventId !== null;
    for (let attempt = 0; ; attempt += 1) {
      try {
        if (canResume()) {
          const result = await resumeTurn(conversationId, progress, onToken, signal);
          if (result !== null) return result;
          progress.lastEventId = null;
          onToken(null); // the text so far is void: the message is sent again
        }
        return await takeTurn(conversationId, message, key, onToken, signal, progress);
      } catch (error) {
        if (signal.aborted) throw error;
        const delay = resendDelay(error, attempt);
        if (delay === null) throw error;
        if (attempt >= RESEND_DELAYS_MS.length) throw new AnswerUnknown(error);
        onResend(attempt + 1, canResume());
        await pause(delay, signal);
      }
    }
  }

  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16)); // randomUUID needs a secure origin
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // Asks for another answer to the last message; resolves to the /api/chat response body.
  async function regenerateReply(conversationId, signal) {
    const path = `api/conversations/${encodeURIComponent(conversationId)}/regenerate`;
    const response = await fetch(apiUrl(path), {
      method: "POST",
      headers: { "idempotency-key": newKey() },
      signal,
    });
    if (!response.ok) throw new ProblemError(await problemOf(response));
    return response.json();
  }

  async function fetchConversation(id, signal) {
    const response = await fetch(apiUrl(`api/conversations/${encodeURIComponent(id)}`), { signal });
    if (!response.ok) throw new ProblemError(await problemOf(response));
    return response.json();
  }

  // ---------------------------------------------------------------------------------------------
  // The page.
  const $ = (id) => document.getElementById(id);
  const ui = {
    topic: $("topic"),
    thesis: $("thesis"),
    intro: $("intro"),
    debate: $("debate"),
    transcript: $("transcript"),
    problem: $("problem"),
    problemText: $("problem-text"),
    problemCode: $("problem-code"),
    problemNewDebate: $("problem-new-debate"),
    form: $("composer"),
    message: $("message"),
    count: $("message-count"),
    send: $("send"),
    newDebate: $("new-debate"),
    regenerate: $("regenerate"),
  };

  const state = {
    conversationId: null,
    stanceKnown: false,
    busy: false,
    controller: null, // aborts the request in flight when a new debate starts
    // The message whose answer never arrived, with its key: sent again (the same text to the
    // same debate), it goes with the same key, so it is stored at most once.
    unanswered: null, // { conversationId, message, key }
  };

  function keyFor(message) {
    const last = state.unanswered;
    if (last && last.conversationId === state.conversationId && last.message === message) {
      return last.key;
    }
    state.unanswered = null;
    return newKey();
  }

  function remember(id) {
    state.conversationId = id;
    try {
      if (id === null) localStorage.removeItem(STORAGE_KEY);
      else localStorage.setItem(STORAGE_KEY, id);
    } catch (_) {
      // storage disabled: the debate lasts as long as the page
    }
  }

  function storedId() {
    try {
      return localStorage.getItem(STORAGE_KEY);
    } catch (_) {
      return null;
    }
  }

  function showStance(topic, thesis) {
    for (const [element, value] of [[ui.topic, topic], [ui.thesis, thesis]]) {
      element.textContent = value || "not set yet";
      element.classList.toggle("unset", !value);
    }
    state.stanceKnown = Boolean(topic && thesis);
  }

  function addMessage(role, text) {
    const item = document.createElement("li");
    item.className = `msg ${role}`;
    const who = document.createElement("p");
    who.className = "who";
    who.textContent = role === "user" ? "You" : "Kopichat";
    const body = document.createElement("p");
    body.className = "text";
    body.textContent = text;
    item.append(who, body);
    ui.transcript.append(item);
    ui.intro.hidden = true;
    scrollToEnd();
    return item;
  }

  function scrollToEnd() {
    ui.debate.scrollTop = ui.debate.scrollHeight;
  }

  function showConversation(view) {
    ui.transcript.replaceChildren();
    for (const m of view.messages) addMessage(m.role, m.message);
    ui.intro.hidden = view.messages.length > 0;
    showStance(view.topic, view.thesis);
    showRegenerate();
    scrollToEnd();
  }

  function showProblem(text, code, startOver) {
    ui.problemText.textContent = text;
    ui.problemCode.textContent = code;
    ui.problemCode.hidden = !code;
    ui.problemNewDebate.hidden = !startOver;
    ui.problem.hidden = false;
  }

  function clearProblem() {
    ui.problem.hidden = true;
    ui.problemText.textContent = "";
    ui.problemCode.textContent = "";
  }

  function showError(error, message) {
    if (error instanceof ProblemError) {
      const { text, startOver } = explainProblem(error.problem, message);
      const code = [error.problem.status, error.problem.code].filter(Boolean).join(" ");
      showProblem(text, code ? `(${code})` : "", startOver);
    } else if (error instanceof AnswerUnknown) {
      showProblem(
        "The connection to the server kept dropping, so the page could not get the answer to " +
          "your message. It may or may not have been saved. Send it again when the " +
          "connection is back: it goes with the same key, so it is never saved twice.",
        "",
        false,
      );
    } else {
      showProblem(
        "The page cannot reach the server. Check that Kopichat is running and your connection " +
          "works, then try again.",
        "",
        false,
      );
    }
  }

  function updateCount() {
    const length = codePoints(ui.message.value);
    const over = length > MAX_CHARS;
    ui.count.textContent = over
      ? `${length} / ${MAX_CHARS} characters: ${length - MAX_CHARS} over the limit`
      : `${length} / ${MAX_CHARS} characters`;
    ui.count.classList.toggle("over", over);
  }

  function setBusy(busy) {
    state.busy = busy;
    ui.send.setAttribute("aria-disabled", String(busy));
    ui.send.textContent = busy ? "Sending\u2026" : "Send";
    ui.transcript.setAttribute("aria-busy", String(busy));
    ui.regenerate.setAttribute("aria-disabled", String(busy));
    showRegenerate();
  }

  // "Try another answer" is there while the debate's last message is a stored bot reply.
  function showRegenerate() {
    const last = ui.transcript.lastElementChild;
    ui.regenerate.hidden = !(
      state.conversationId !== null &&
      last !== null &&
      last.classList.contains("bot") &&
      !last.classList.contains("pending")
    );
  }

  async function regenerate() {
    const reply = ui.transcript.lastElementChild;
    if (state.busy || ui.regenerate.hidden || reply === null) return;
    clearProblem();
    setBusy(true);
    const controller = new AbortController();
    state.controller = controller;
    const replyText = reply.querySelector(".text");
    const before = replyText.textContent;
    reply.classList.add("pending");
    replyText.textContent = "Thinking of another answer\u2026";
    try {
      const body = await regenerateReply(state.conversationId, controller.signal);
      replyText.textContent = body.message[body.message.length - 1].message;
    } catch (error) {
      if (controller.signal.aborted) return; // a new debate replaced this one
      replyText.textContent = before;
      showError(error);
    } finally {
      reply.classList.remove("pending");
      if (state.controller === controller) {
        state.controller = null;
        setBusy(false);
      }
    }
  }

  async function send() {
    if (state.busy) return;
    const message = ui.message.value;
    if (!message.trim()) {
      showProblem("Your message is empty. Write your argument, then send it.", "", false);
      ui.message.focus();
      return;
    }
    clearProblem();
    setBusy(true);
    const controller = new AbortController();
    state.controller = controller;
    const mine = addMessage("user", message);
    const reply = addMessage("bot", "");
    mine.classList.add("pending");
    reply.classList.add("pending");
    const replyText = reply.querySelector(".text");
    const key = keyFor(message);
    state.unanswered = { conversationId: state.conversationId, message, key };
    try {
      const body = await takeTurnUntilAnswered(
        state.conversationId,
        message,
        key,
        (piece) => {
          if (piece === null || reply.classList.contains("reconnecting")) {
            replyText.textContent = ""; // void text, or the note about the dropped connection
            reply.classList.remove("reconnecting");
          }
          if (piece !== null) replyText.textContent += piece;
          scrollToEnd();
        },
        (_attempt, resuming) => {
          if (resuming) return; // the reply goes on where it stopped
          replyText.textContent = "The connection dropped. Getting the answer from the server\u2026";
          reply.classList.add("reconnecting");
        },
        controller.signal,
      );
      state.unanswered = null;
      reply.classList.remove("reconnecting");
      const last = body.message[body.message.length - 1];
      replyText.textContent = last.message; // the stored reply is the authority
      scrollToEnd();
      mine.classList.remove("pending");
      reply.classList.remove("pending");
      remember(body.conversation_id);
      ui.message.value = "";
      updateCount();
      if (!state.stanceKnown) {
        // Topic and thesis are fixed by the first debatable message; only the full view has them.
        await refresh(controller.signal).catch(() => {});
      }
    } catch (error) {
      if (controller.signal.aborted) return; // a new debate replaced this one
      mine.remove();
      reply.remove();
      ui.intro.hidden = ui.transcript.children.length > 0;
      // The server answered that nothing was stored (or refused the message): a new key next time.
      if (error instanceof ProblemError) state.unanswered = null;
      showError(error, message);
    } finally {
      if (state.controller === controller) {
        state.controller = null;
        setBusy(false);
        ui.message.focus();
      }
    }
  }

  // Show the stored debate as the server has it: every message, topic and thesis.
  async function refresh(signal) {
    const view = await fetchConversation(state.conversationId, signal);
    showConversation(view);
  }

  function newDebate() {
    if (state.controller !== null) state.controller.abort();
    state.controller = null;
    state.unanswered = null;
    setBusy(false);
    remember(null);
    ui.transcript.replaceChildren();
    ui.intro.hidden = false;
    showStance(null, null);
    clearProblem();
    showRegenerate();
    ui.message.value = "";
    updateCount();
    ui.message.focus();
  }

  async function restore() {
    const id = storedId();
    if (id === null) return;
    state.conversationId = id;
    try {
      await refresh();
    } catch (error) {
      if (error instanceof ProblemError && error.problem.code === "conversation_not_found") {
        remember(null);
      }
      showError(error);
    }
  }

  ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  ui.message.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  ui.message.addEventListener("input", updateCount);
  $("skip-link").addEventListener("click", (event) => {
    event.preventDefault();
    ui.message.focus();
  });
  ui.newDebate.addEventListener("click", newDebate);
  ui.regenerate.addEventListener("click", regenerate);
  ui.problemNewDebate.addEventListener("click", newDebate);

  showStance(null, null);
  updateCount();
  document.documentElement.dataset.ready = "false";
  restore().finally(() => {
    document.documentElement.dataset.ready = "true";
  });

  // For the browser tests and the curious: the pieces that do not touch the page.
  window.Kopichat = { readServerSentEvents, explainProblem, RESEND_DELAYS_MS };
})();
