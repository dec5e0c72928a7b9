// Checked by `tsc -p tsconfig.json` (the repo's typecheck); expectTypeOf is a no-op at run time.
import { expectTypeOf } from 'vitest';
import { guardButton, guardForm } from '../../src/dom/index.js';
import { useIdempotentSubmit, type ActionContext, type IdempotentButtonProps } from '../../src/react/index.js';

interface Cart {
  sku: string;
}
interface Order {
  id: number;
}

declare const placeOrder: (cart: Cart, context: ActionContext) => Promise<Order>;

export function types() {
  const order = useIdempotentSubmit(placeOrder, { intent: 'place-order', input: { sku: 'A' } });
  // data is typed from the action's return type.
  expectTypeOf(order.data).toEqualTypeOf<Order | undefined>();
  expectTypeOf(order.submitAsync).returns.toEqualTypeOf<Promise<Order>>();
  expectTypeOf(order.submit).parameter(0).toEqualTypeOf<Cart>();
  expectTypeOf(order.status).toEqualTypeOf<'idle' | 'pending' | 'success' | 'error'>();
  expectTypeOf(order.key).toEqualTypeOf<string | undefined>();
  expectTypeOf(order.buttonProps).toEqualTypeOf<IdempotentButtonProps>();
  expectTypeOf(order.formAction).toEqualTypeOf<(data: FormData) => Promise<void>>();

  // @ts-expect-error the input must be a Cart
  order.submit({ sku: 1 });
  // @ts-expect-error `input` must match the action's input
  useIdempotentSubmit(placeOrder, { input: { qty: 1 } });
  useIdempotentSubmit(placeOrder, {
    onSuccess: (data, input, key) => {
      expectTypeOf(data).toEqualTypeOf<Order>();
      expectTypeOf(input).toEqualTypeOf<Cart>();
      expectTypeOf(key).toEqualTypeOf<string | undefined>();
    },
  });

  // An action without input: submit() takes no argument.
  const ping = useIdempotentSubmit(async (_input: void, { key }) => key.length);
  ping.submit();
  expectTypeOf(ping.data).toEqualTypeOf<number | undefined>();

  const dispose = guardButton(document.body, async ({ key, signal }) => {
    expectTypeOf(key).toBeString();
    expectTypeOf(signal).toEqualTypeOf<AbortSignal>();
    return 1;
  });
  expectTypeOf(dispose).toEqualTypeOf<() => void>();
  guardForm(document.createElement('form'), async ({ formData }) => formData.get('x'), {
    onSuccess: (data) => expectTypeOf(data).toEqualTypeOf<FormDataEntryValue | null>(),
  });
}
