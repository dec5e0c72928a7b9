import { useState } from 'react';
import { useCart } from './cart.js';
import { CartPanel } from './CartPanel.js';
import { EditOrderPanel } from './EditOrderPanel.js';
import { EventLogPanel } from './EventLogPanel.js';
import { eventLog } from './event-log.js';
import { FaultPanel } from './FaultPanel.js';
import { useFaults } from './faults.js';
import { plainApi } from './http.js';
import { ProtectedOrderButton, UnprotectedOrderButton } from './OrderButton.js';
import { OrdersPanel } from './OrdersPanel.js';
import { PendingOrders } from './PendingOrders.js';
import { Products } from './Products.js';
import { refreshServerView, useServerView } from './server-view.js';
import { TokenModeSwitch } from './TokenModeSwitch.js';

export function App() {
  const { cart, add, clear } = useCart();
  const { faults, toggle } = useFaults();
  const [protectionOff, setProtectionOff] = useState(false);
  const [tokenMode, setTokenMode] = useState(false);
  const view = useServerView();

  const reset = async () => {
    // The verifier's reset path, the one the README names.
    await plainApi.post('/__submit-once/reset', undefined, { adapter: 'fetch' });
    eventLog.clear();
    location.reload();
  };

  return (
    <div className="page">
      <header>
        <h1>
          submit-once <span>demo shop</span>
        </h1>
        <p>
          Double-click, lose the response, reload mid-order: with submit-once each order is stored once. Switch
          protection off to see the duplicates.
        </p>
      </header>
      <main className="grid">
        <div className="column">
          <Products onAdd={(sku) => add(sku, 1)} />
          <CartPanel cart={cart} onChange={add} onClear={clear}>
            {protectionOff ? <UnprotectedOrderButton cart={cart} /> : <ProtectedOrderButton cart={cart} tokenMode={tokenMode} />}
            <PendingOrders />
          </CartPanel>
          <EditOrderPanel orders={view.orders} />
        </div>
        <div className="column">
          <FaultPanel
            faults={faults}
            onToggle={toggle}
            protectionOff={protectionOff}
            onProtectionOff={(off) => {
              setProtectionOff(off);
              eventLog.note(`protection ${off ? 'off' : 'on'}`, off ? 'bad' : 'good');
              refreshServerView();
            }}
          />
          <TokenModeSwitch on={tokenMode} onChange={setTokenMode} />
          <OrdersPanel view={view} onReset={() => void reset()} />
          <EventLogPanel />
        </div>
      </main>
    </div>
  );
}
