// The viewer's microphone into the VM, where vmcast offers it (--web-microphone, a VM with
// sound, full access). Its sound goes as the track of the session's audio transceiver, which
// vmcast offers send-and-receive for such a viewer: switching it on and off is replaceTrack,
// with no new negotiation. One viewer's microphone at a time: vmcast tells the one whose
// microphone another took, and that page stops sending.
// state.microphone: 'unavailable' (no button), 'off', 'starting', 'on' or 'denied'.
'use strict';

function createMicrophone({ state, sendInput, container, report }) {
  const button = document.createElement('button');
  button.type = 'button';
  button.id = 'mic-button';
  button.textContent = 'microphone';
  button.hidden = true;
  container.append(button);
  let offered = false;
  let transceiver = null;
  let track = null;
  // Each start, stop and end counts: a start that finds it changed after an await lost to
  // them, and stops its own track.
  let attempt = 0;

  function show(microphone, why) {
    state.microphone = microphone;
    button.hidden = microphone === 'unavailable';
    button.setAttribute('aria-pressed', String(microphone === 'on'));
    button.title = why || (microphone === 'on' ? 'Stop sending your microphone to the VM'
      : 'Send your microphone to the VM');
  }
  show('unavailable');

  function stopTrack() {
    attempt++;
    if (track) track.stop();
    track = null;
    if (transceiver) transceiver.sender.replaceTrack(null).catch(() => {});
  }

  async function start() {
    if (!window.isSecureContext || !navigator.mediaDevices) {
      show('denied', 'Browsers give a page the microphone only over HTTPS or on localhost');
      return;
    }
    if (!transceiver) {
      show('denied', 'This session carries no sound to answer with');
      return;
    }
    stopTrack();
    const mine = attempt;
    // Switched off, taken, or the session ended while this start waited.
    const lost = () => attempt !== mine;
    show('starting');
    let stream = null;
    try {
      // The browser's echo cancellation keeps the VM's own sound, played here, out of it;
      // the rest is the guest's to process.
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: false, autoGainControl: false } });
      if (!lost()) await transceiver.sender.replaceTrack(stream.getAudioTracks()[0]);
    } catch (error) {
      if (stream) for (const t of stream.getTracks()) t.stop();
      if (lost()) return;
      stopTrack();
      show('denied', `No microphone: ${error.message}`);
      report(`no microphone: ${error.message}`);
      return;
    }
    if (lost()) { // the stop that won cleared the sender after this track went on it
      for (const t of stream.getTracks()) t.stop();
      return;
    }
    track = stream.getAudioTracks()[0];
    sendInput({ type: 'microphone', on: true });
    show('on');
  }

  function stop() {
    stopTrack();
    if (state.microphone === 'on') sendInput({ type: 'microphone', on: false });
    show(offered ? 'off' : 'unavailable');
  }

  button.addEventListener('click', () => {
    if (state.microphone === 'on' || state.microphone === 'starting') stop();
    else start();
  });

  return {
    // The hello: whether vmcast takes this viewer's microphone.
    setOffered(value) {
      offered = !!value;
      stopTrack();
      show(offered ? 'off' : 'unavailable');
    },
    // Before the answer: the sound's transceiver sends too, with no track until switched on.
    beforeAnswer(peer) {
      transceiver = null;
      if (!offered) return;
      transceiver = peer.getTransceivers().find((t) => t.receiver.track.kind === 'audio') || null;
      if (transceiver) transceiver.direction = 'sendrecv';
    },
    // vmcast's word: another viewer's microphone goes to the VM now.
    taken() {
      stopTrack();
      show(offered ? 'off' : 'unavailable');
      report('another viewer took the microphone');
    },
    sessionEnded() {
      stopTrack();
      transceiver = null;
      show(offered ? 'off' : 'unavailable');
    },
  };
}
