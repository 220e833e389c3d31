import { Module } from '@nestjs/common';
import { DeliveriesRepository } from './deliveries.repository.js';
import { EditionDeliveryService } from './edition-delivery.service.js';
import { SuppressionRepository } from './suppression.repository.js';

/** The send pipeline; its processor is registered by the worker role only. */
@Module({
  providers: [DeliveriesRepository, SuppressionRepository, EditionDeliveryService],
  exports: [DeliveriesRepository, EditionDeliveryService],
})
export class DeliveryModule {}
