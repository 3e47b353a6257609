// The customers in the two CRM simulators and the people who change them.
//
// HubSpot: a sign-up sync (actor `IMPORT:signup-sync`) imports the first customers and then signs up a new
// one now and then; six sales reps each keep a book of eight customers and update them. Salesforce: the
// org starts with seeded accounts and contacts (no change events, so the connector snapshots them), four
// reps update their own records, and the integration user creates new contacts now and then.
//
// Why it is shaped like this: `crm-actor-burst` flags one actor changing 10 or more customers within an
// hour. Every rep stays below that (8 HubSpot contacts, or 4 Salesforce accounts and their 4 contacts); the sync users, which touch every customer by
// design, are listed in the processor's `crmBreach.ignoreActors`, as an operator would list theirs. Reps
// never change contact channels or payout addresses, so benign traffic starts no takeover sequence.
import type { HubSpotSimulator, SalesforceSimulator } from '@tributary/testkit';
import { labelAddress } from './ethereum-chain.ts';
import { pick, randomInt } from './repeat.ts';

export const HUBSPOT_SYNC = { sourceType: 'IMPORT', sourceId: 'signup-sync' } as const;
/** The actor string the HubSpot source writes for the sync (`<sourceType>:<sourceId>`). */
export const HUBSPOT_SYNC_ACTOR = `${HUBSPOT_SYNC.sourceType}:${HUBSPOT_SYNC.sourceId}`;
/** The simulator's integration user: the default `commitUser` of Salesforce changes. */
export const SALESFORCE_SYNC_USER = '005000000000001AAA';

/** HubSpot contact properties the connector reads; the sensitive ones carry old values and the actor. */
export const HUBSPOT_PROPERTIES = [
  'email',
  'firstname',
  'lastname',
  'phone',
  'payout_address',
  'lifecyclestage',
  'hs_lead_status',
];
export const HUBSPOT_SENSITIVE = ['email', 'phone', 'payout_address', 'lifecyclestage', 'hs_lead_status'];

const HUBSPOT_REPS = 6;
const BOOK = 8;
const INITIAL_IMPORT = 72;
const SALESFORCE_REPS = 4;
const SALESFORCE_BOOK = 4;

export interface Customer {
  /** HubSpot contact id. */
  id: string;
  email: string;
  /** The address the CRM holds as the customer's payout address (an Ethereum address). */
  payoutAddress: string;
}

export interface CrmBook {
  /** Customers no rep owns and no story round used yet, oldest first; taken for a story round. */
  takeFresh(n: number): Customer[];
  /** One HubSpot rep update and, every other call, one Salesforce change. */
  step(): void;
  /** A new HubSpot sign-up (and now and then a Salesforce contact). */
  signUp(): void;
  customers(): number;
}

const LIFECYCLE = ['lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer'];
const LEAD_STATUS = ['NEW', 'OPEN', 'IN_PROGRESS', 'CONNECTED', 'OPEN_DEAL'];
const TITLES = ['CFO', 'Treasury lead', 'Head of trading', 'Controller', 'COO'];
const INDUSTRIES = ['Banking', 'Technology', 'Finance', 'Retail', 'Consulting'];

export function createCrmBook(hubspot: HubSpotSimulator, salesforce: SalesforceSimulator): CrmBook {
  const all: Customer[] = [];
  const fresh: Customer[] = [];
  let n = 0;
  const signUpHubSpot = (): Customer => {
    n++;
    const email = `customer${n}@example.com`;
    const payoutAddress = labelAddress(`customer:${n}`);
    const v = hubspot.create(
      'contacts',
      {
        email,
        firstname: `Customer`,
        lastname: `No${n}`,
        phone: `+1555${String(1_000_000 + n).slice(1)}`,
        payout_address: payoutAddress,
        lifecyclestage: 'lead',
        hs_lead_status: 'NEW',
      },
      { actor: HUBSPOT_SYNC },
    );
    const c = { id: v.id, email, payoutAddress };
    all.push(c);
    return c;
  };
  for (let i = 0; i < INITIAL_IMPORT; i++) {
    const c = signUpHubSpot();
    if (i >= HUBSPOT_REPS * BOOK) fresh.push(c);
  }

  const accounts = salesforce.org.seed(
    'Account',
    Array.from({ length: SALESFORCE_REPS * SALESFORCE_BOOK }, (_, i) => ({
      Name: `Client ${i + 1} Ltd`,
      Industry: pick(INDUSTRIES),
      AnnualRevenue: 1_000_000 * (i + 1),
    })),
  );
  const contacts = salesforce.org.seed(
    'Contact',
    accounts.map((accountId, i) => ({
      FirstName: 'Contact',
      LastName: `No${i + 1}`,
      Email: `contact${i + 1}@client${i + 1}.example`,
      AccountId: accountId,
      Payout_Address__c: labelAddress(`sf-contact:${i + 1}`),
    })),
  );
  let sfContacts = contacts.length;
  let steps = 0;

  const salesforceStep = () => {
    const rep = randomInt(0, SALESFORCE_REPS - 1);
    const i = rep * SALESFORCE_BOOK + randomInt(0, SALESFORCE_BOOK - 1);
    const user = `005000000000${200 + rep}AAA`;
    salesforce.transaction(
      (tx) => {
        if (Math.random() < 0.5) tx.update('Contact', contacts[i]!, { Title: pick(TITLES) });
        else
          tx.update('Account', accounts[i]!, {
            Industry: pick(INDUSTRIES),
            AnnualRevenue: randomInt(1, 90) * 1_000_000,
          });
      },
      { user },
    );
  };

  return {
    takeFresh(count) {
      const out = fresh.splice(0, count);
      // Only if story rounds outpace sign-ups: reuse the oldest story customers rather than stop.
      while (out.length < count)
        out.push(all[HUBSPOT_REPS * BOOK + (out.length % (all.length - HUBSPOT_REPS * BOOK))]!);
      return out;
    },
    step() {
      steps++;
      const rep = steps % HUBSPOT_REPS;
      const customer = all[rep * BOOK + randomInt(0, BOOK - 1)]!;
      const props: Record<string, string> =
        Math.random() < 0.5 ? { lifecyclestage: pick(LIFECYCLE) } : { hs_lead_status: pick(LEAD_STATUS) };
      hubspot.update('contacts', customer.id, props, {
        actor: { sourceType: 'CRM_UI', updatedByUserId: 9001 + rep },
      });
      if (steps % 2 === 0) salesforceStep();
    },
    signUp() {
      fresh.push(signUpHubSpot());
      if (n % 3 === 0) {
        sfContacts++;
        salesforce.transaction((tx) => {
          tx.create('Contact', {
            FirstName: 'Contact',
            LastName: `No${sfContacts}`,
            Email: `contact${sfContacts}@signup.example`,
            Payout_Address__c: labelAddress(`sf-contact:${sfContacts}`),
          });
        });
      }
    },
    customers: () => all.length,
  };
}
