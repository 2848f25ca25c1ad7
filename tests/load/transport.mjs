// The room socket of the load tools (bots.mjs, the bench's join storm), in either
// of the two wire forms the benchmark's servers speak:
//   "chat"      ours (PROTOCOL.md) and the plain Durable Object reference
//               (tests/load/reference/): a WebSocket at /rooms/:id/ws with the
//               subprotocols [LIMITS.wsProtocol, LIMITS.wsBearerPrefix + token],
//               one JSON frame per message;
//   "socketio"  the socket.io reference (tests/load/reference-socketio/): Engine.IO 4
//               over a WebSocket at /socket.io/?EIO=4&transport=websocket&room=<id>,
//               the token in the namespace CONNECT packet's auth ("40{...}"), each
//               chat frame one socket.io "message" event: 42["message",{frame}].
// Both carry the same chat frames (connection, join_room, history,
// new_chat_message, batch, error), so a tool above this file speaks one protocol.
// onData gets each chat frame's JSON bytes; a broadcast's bytes are identical for
// every recipient in both forms (socket.io encodes a broadcast once), which lets a
// client that plays many sockets parse them once.
import WebSocket from "ws";
import { LIMITS } from "../../worker/generated/core.ts";

const EVENT_PREFIX = Buffer.from('42["message",');

/**
 * Opens a room socket. Handlers: onData(bytes) for each chat frame's JSON,
 * onClose(code), onError(err), onRefused(status) (an HTTP answer instead of an
 * upgrade; onClose follows). Returns { ws, send(frame object), close(), terminate() }.
 */
export function openRoomSocket(base, roomId, token, { protocol = "chat", onData, onClose, onError, onRefused }) {
  const wsBase = base.replace(/^http/, "ws");
  const socketio = protocol === "socketio";
  const ws = socketio
    ? new WebSocket(`${wsBase}/socket.io/?EIO=4&transport=websocket&room=${encodeURIComponent(roomId)}`, { perMessageDeflate: false })
    : new WebSocket(`${wsBase}/rooms/${roomId}/ws`, [LIMITS.wsProtocol, `${LIMITS.wsBearerPrefix}${token}`], { perMessageDeflate: false });
  ws.on("message", (data) => {
    if (!socketio) return onData(data);
    // Engine.IO packets: 0 open, 2 ping (answered 3), 4 message (then the socket.io
    // packet: 0 connect, 2 event, 4 connect error).
    const kind = data[0];
    if (kind === 0x30) ws.send(`40${JSON.stringify({ token })}`);
    else if (kind === 0x32) ws.send("3");
    else if (kind === 0x34 && data[1] === 0x32 && data.subarray(0, EVENT_PREFIX.length).equals(EVENT_PREFIX)) {
      onData(data.subarray(EVENT_PREFIX.length, data.length - 1));
    } else if (kind === 0x34 && data[1] === 0x34) {
      onError?.(new Error(`socket.io connect refused: ${data.subarray(2)}`));
      ws.terminate();
    }
  });
  ws.on("close", (code) => onClose?.(code));
  ws.on("error", (e) => onError?.(e));
  ws.on("unexpected-response", (req, res) => {
    res.resume();
    req.destroy();
    onRefused?.(res.statusCode);
    ws.terminate();
  });
  return {
    ws,
    send(frame) {
      if (ws.readyState !== WebSocket.OPEN) return false;
      ws.send(socketio ? `42${JSON.stringify(["message", frame])}` : JSON.stringify(frame));
      return true;
    },
    close: () => ws.close(),
    terminate: () => ws.terminate(),
  };
}
