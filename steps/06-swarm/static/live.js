// Each "swarm" event carries the page's content anew. EventSource reconnects by itself when
// a connection drops, but gives up for good when an answer is not an event stream (the
// proxy's page while the view's task moves to another node, say): then a new one is made.
const now = document.getElementById("now");
const live = document.getElementById("live");

function listen() {
  const events = new EventSource("/swarm/events");
  events.addEventListener("swarm", (event) => {
    now.innerHTML = event.data;
    live.textContent = "live: updated " + new Date().toLocaleTimeString();
  });
  events.onerror = () => {
    live.textContent = "the view does not answer: trying again (this is what it saw last)";
    if (events.readyState === EventSource.CLOSED) {
      setTimeout(listen, 1000);
    }
  };
}

listen();
