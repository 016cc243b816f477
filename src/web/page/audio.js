// The VM's sound on the page. The session's audio track plays through the video element, which
// starts muted: browsers play sound only after the user's click. muteButton(container) adds a
// button that unmutes and mutes it, shown only while the session carries sound.
'use strict';

function createAudio(video) {
  let hasSound = false;
  const buttons = [];
  const show = () => {
    for (const button of buttons) {
      button.hidden = !hasSound;
      button.textContent = video.muted ? 'unmute' : 'mute';
      button.setAttribute('aria-pressed', String(!video.muted));
      button.title = video.muted ? 'Play the VM\'s sound' : 'Mute the VM\'s sound';
    }
  };
  video.addEventListener('volumechange', show);
  return {
    // Each track the session brings; only sound counts here.
    trackArrived(track) {
      if (track.kind !== 'audio') return;
      hasSound = true;
      show();
    },
    // The session went (a reconnect follows): muted or not stays as the user chose.
    sessionEnded() {
      hasSound = false;
      show();
    },
    get hasSound() { return hasSound; },
    muteButton(container) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'mute';
      button.addEventListener('click', () => {
        video.muted = !video.muted;
        // The click is the user's gesture that lets the browser play sound.
        if (!video.muted) video.play().catch(() => {});
      });
      container.append(button);
      buttons.push(button);
      show();
      return button;
    },
  };
}
